import { closeSync, openSync, writeSync } from 'node:fs';
import type { IntervalResult } from '../result/intervals.js';

/**
 * Where `--timeseries` writes: each interval as one line of JSON, the moment it is summed. A
 * file is opened (truncated) before the run, so that a path that cannot be written fails the
 * run before it starts, and written synchronously, so that a reader tailing it sees each line
 * whole; `-` is stdout, through `process.stdout` so that the lines keep their order with the
 * result printed after them. A write that fails ends the writing, and `error` says why.
 *
 * @example
 *   const output = TimeseriesOutput.open('run.jsonl'); // throws ENOENT, EACCES ...
 *   output.write(interval);
 *   output.close();
 */
export class TimeseriesOutput {
  /** Why writing stopped (`ENOSPC`), if it did. */
  error: string | undefined;

  private constructor(private fd: number | undefined) {}

  /** `-` is stdout; anything else a file, created or truncated. */
  static open(target: string): TimeseriesOutput {
    return new TimeseriesOutput(target === '-' ? undefined : openSync(target, 'w'));
  }

  write(interval: IntervalResult): void {
    if (this.error !== undefined) return;
    const line = `${JSON.stringify(interval)}\n`;
    try {
      if (this.fd === undefined) process.stdout.write(line);
      else writeSync(this.fd, line);
    } catch (error) {
      this.error = (error as NodeJS.ErrnoException).code ?? String(error);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
