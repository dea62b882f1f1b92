// @ts-check
/**
 * Time as both sides of the blocked-loop detector see it: the main thread (the runtime and the
 * monitor) and the watchdog thread compare each other's readings, so both must read the same
 * clock. `performance.now()` does not do: every thread counts from its own start.
 *
 * Plain JavaScript, checked by TypeScript (see `tsconfig.json`), because the watchdog thread
 * imports it too, and a worker thread cannot load a .ts file.
 */
import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Milliseconds on the process-wide monotonic clock (`process.hrtime`), the same in every
 * thread. Not for the hot path: it allocates a small array.
 *
 * @example
 *   const began = clockMs();
 *   // ...
 *   const tookMs = clockMs() - began;
 * @returns {number}
 */
export function clockMs() {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}

/**
 * How long the main thread has waited for a CPU so far: time it was ready to run but the
 * kernel ran something else (Linux's run delay, the second field of the thread's
 * `schedstat`). The detector subtracts it, so that a task is never blamed for time the machine
 * took away from it. Where the kernel does not say (not Linux, no /proc), it reads 0 and the
 * detector falls back to plain wall time.
 *
 * The kernel adds a wait when it ends, so a reading taken while the main thread waits misses
 * that wait: readings from the watchdog thread are lower bounds.
 *
 * @example
 *   const delay = new RunDelay();
 *   const waitedMs = delay.ms() - before;
 *   delay.close();
 */
export class RunDelay {
  /** @private */
  fd = -1;
  /** @private */
  buffer = Buffer.alloc(128);

  constructor() {
    try {
      // The main thread's id is the process id.
      this.fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
    } catch {
      this.fd = -1;
    }
  }

  /** @returns {number} milliseconds the main thread has waited for a CPU since it started */
  ms() {
    if (this.fd < 0) return 0;
    try {
      const length = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      // "<ns on a CPU> <ns waiting for one> <timeslices>\n"
      const fields = this.buffer.toString('latin1', 0, length).split(' ');
      const waitedNs = Number(fields[1]);
      return Number.isFinite(waitedNs) ? waitedNs / 1e6 : 0;
    } catch {
      return 0;
    }
  }

  /** Closes the file. Idempotent; `ms()` reads 0 afterwards. */
  close() {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
