import { formatCount } from '../report/format.js';
import type { Tick } from './sampler.js';

/**
 * One line of live progress: `measuring 3 s │ 123,456 msg/s │ 500/500 open │ 0 errors`.
 *
 * @example
 *   formatProgress({ seconds: 3, measuring: true, messagesPerSecond: 1000, open: 10, clients: 10, failed: 0 })
 */
function formatProgress(tick: Tick): string {
  return [
    `${tick.measuring ? 'measuring' : 'warming up'} ${tick.seconds} s`,
    `${formatCount(tick.messagesPerSecond)} msg/s`,
    `${formatCount(tick.open)}/${formatCount(tick.clients)} open`,
    `${formatCount(tick.failed)} errors`,
  ].join(' │ ');
}

/**
 * Rewrites one line on a terminal (stderr), so progress never mixes with the report on
 * stdout. The CLI only creates it when stderr is a TTY and `--no-progress` is not given.
 */
export class ProgressLine {
  private shown = false;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  show(tick: Tick): void {
    this.stream.write(`\r\x1b[2K${formatProgress(tick)}`);
    this.shown = true;
  }

  /** Erases the line before the report is printed. */
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
