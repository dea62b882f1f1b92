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
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';

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
 * What the kernel says about the main thread's time so far (Linux's `schedstat` of the thread):
 * how long it ran on a CPU (`ranMs`), and how long it was ready to run but waited while the
 * kernel ran something else (`waitedMs`, the run delay). Wall time less both is time it slept:
 * in a system call, or waiting for another thread. The detector subtracts the waits, so that
 * no one is blamed for time the machine took away. Where the kernel does not say (not Linux,
 * no /proc), both read 0 and the detector falls back to plain wall time.
 *
 * The kernel adds a wait when it ends, so a reading taken while the main thread waits misses
 * that wait: readings from the watchdog thread are lower bounds.
 *
 * @example
 *   const main = new MainThreadTimes();
 *   main.read();
 *   const before = main.waitedMs;
 *   // ... later:
 *   main.read();
 *   const waitedMs = main.waitedMs - before;
 *   main.close();
 */
export class MainThreadTimes {
  /** Milliseconds the main thread has run on a CPU, at the last `read()`. */
  ranMs = 0;
  /** Milliseconds the main thread has waited for a CPU, at the last `read()`. */
  waitedMs = 0;
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

  /** Reads both figures again (one read of a small file, no allocation but the text). */
  read() {
    if (this.fd < 0) return;
    try {
      const length = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      const [ranMs, waitedMs] = parseSchedStat(this.buffer.toString('latin1', 0, length));
      this.ranMs = ranMs;
      this.waitedMs = waitedMs;
    } catch {
      // Keep the last figures: a failed read must not look like time given back.
    }
  }

  /** Closes the file. Idempotent; `read()` changes nothing afterwards. */
  close() {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * How long this process's other threads (all but `exclude`, thread ids) have waited for a CPU
 * so far, summed over those alive now: the main thread may sleep on a lock that one of them
 * holds while the kernel runs another process, and that wait is the machine's too. Lists the
 * threads and reads one small file per thread (a few hundred µs in all): only for a stretch
 * already late, never per beat. NaN when the kernel does not say, or not for every thread (no
 * descriptor left, say): a sum short of a thread would give its waits to the loop later.
 *
 * @example
 *   const before = otherThreadsWaitedMs([process.pid]);
 * @param {number[]} exclude
 * @returns {number}
 */
export function otherThreadsWaitedMs(exclude) {
  let names;
  try {
    names = readdirSync('/proc/self/task');
  } catch {
    return NaN;
  }
  let waitedMs = 0;
  for (const name of names) {
    if (exclude.includes(Number(name))) continue;
    let fd = -1;
    try {
      fd = openSync(`/proc/self/task/${name}/schedstat`, 'r');
      const length = readSync(fd, othersBuffer, 0, othersBuffer.length, 0);
      waitedMs += parseSchedStat(othersBuffer.toString('latin1', 0, length))[1];
    } catch (error) {
      // A thread that ended meanwhile waits no more: fine. Anything else leaves the sum short.
      const code = /** @type {NodeJS.ErrnoException} */ (error).code;
      if (code !== 'ENOENT' && code !== 'ESRCH') waitedMs = NaN;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
  return waitedMs;
}
const othersBuffer = Buffer.alloc(128);

/**
 * The calling thread's id (Linux), for `otherThreadsWaitedMs` to leave out; 0 elsewhere.
 * @returns {number}
 */
export function ownThreadId() {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return 0;
  }
}

/**
 * "<ns on a CPU> <ns waiting for one> <timeslices>\n", as milliseconds.
 * @param {string} text
 * @returns {[number, number]}
 */
function parseSchedStat(text) {
  const fields = text.split(' ');
  const ranNs = Number(fields[0]);
  const waitedNs = Number(fields[1]);
  return [Number.isFinite(ranNs) ? ranNs / 1e6 : 0, Number.isFinite(waitedNs) ? waitedNs / 1e6 : 0];
}
