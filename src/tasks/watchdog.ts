import { Worker } from 'node:worker_threads';
import { STOP, watchdogSlots, type WatchdogData } from './watchdog-slots.js';

// The thread's program is a file of its own, plain JavaScript (see watchdog-thread.js), next
// to this one both in src/ and in dist/.
const WATCHDOG_THREAD = new URL('./watchdog-thread.js', import.meta.url);

/** The blocked-loop watchdog thread, as the main thread holds it: see `startWatchdog`. */
export interface Watchdog {
  /** Resolves once the thread runs; rejects if it fails to start. */
  readonly ready: Promise<void>;
  /** Tells the thread to end; resolves once it has. Call it once. */
  stop(): Promise<void>;
}

/**
 * Starts the watchdog thread (`watchdog-thread.js`) on the shared slots in `data`. The thread
 * does not keep the process alive while it runs.
 *
 * @example
 *   const watchdog = startWatchdog({ slots: watchdogSlots, times: watchdogTimes, layout: WATCHDOG_LAYOUT, lookMs, tickMs, maxBlockingMs });
 *   await watchdog.ready;
 *   // ...
 *   await watchdog.stop();
 */
export function startWatchdog(data: WatchdogData): Watchdog {
  const worker = new Worker(WATCHDOG_THREAD, { workerData: data, name: 'blocked-loop watchdog' });
  worker.unref();
  // Not `once(worker, 'exit')`: that also rejects on 'error', which `ready` reports.
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    // Not 'online': the thread is up then, but its module may not have run yet.
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  ready.catch(() => {}); // a failed watchdog surfaces to whoever awaits `ready`
  return {
    ready,
    stop() {
      // The thread ends by itself once it sees STOP, and closes its file on the way out.
      // Referenced again meanwhile, or a process with nothing else to do would exit first.
      worker.ref();
      Atomics.store(watchdogSlots, STOP, 1);
      Atomics.notify(watchdogSlots, STOP);
      return exited;
    },
  };
}
