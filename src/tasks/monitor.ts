import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { CAUGHT, RUNNING, takeCaughtTask, watchdogSlots } from './task.js';

/**
 * The lesson's warning made visible: one task that blocks without switching stalls every
 * other task on the thread. Like gevent's hub monitor (`max_blocking_time`), this detector
 * reports when the event loop was held longer than a limit, and names the task that held it.
 *
 * How, at no cost to the data path: a timer on the main thread beats a counter in shared
 * memory every `tick` ms. A watchdog thread wakes every `maxBlockingMs / 3` and looks at the
 * counter. If it has not moved since its last look, the loop is blocked right now, so the
 * watchdog reads which task runs (the runtime keeps its id in shared memory anyway) and
 * marks it caught; that task notices when its step ends, so the report can name it. The main thread sees the flag on its first beat after the block, knows from its
 * own timer how long the gap was, and reports it if the gap exceeds the limit. Nothing is timed
 * per message or per task step, and the main thread never wakes the watchdog: measured on a
 * loaded server, waking it on every beat (`Atomics.notify`) cost more than everything else here.
 */

/** What the detector reports, once per blocked stretch of the event loop. */
export interface BlockedLoopEvent {
  /** Id of the task that held the thread while the loop was blocked; 0 if none did. */
  taskId: number;
  /** That task's description (e.g. `conn 127.0.0.1:5555`), if it was caught in the act. */
  taskName: string | undefined;
  /** About how long the loop was blocked, in milliseconds (timer resolution: one tick). */
  blockedMs: number;
}

/** Counted by the detector; the metrics endpoint reads it when scraped. */
export const monitorStats = { blockedLoopEvents: 0 };

/** A running detector: see `startBlockedLoopMonitor`. */
export interface BlockedLoopMonitor {
  /** Resolves once the watchdog thread runs: blocks are caught from then on. */
  readonly ready: Promise<void>;
  /** Stops the timer and the watchdog thread. Idempotent. */
  stop(): Promise<void>;
}

// Slots of the shared control array.
const BEAT = 0; // incremented by the main thread on every tick
const STOP = 1; // set to 1 to end the watchdog
// The runtime's slots: which task runs, and which one the watchdog caught (-1: no task ran).
const NO_TASK = -1;

// The watchdog thread, kept as source so that it runs the same from src/ (vitest) and dist/.
// A block of 2 * lookMs always spans one whole interval between two looks; lookMs =
// maxBlockingMs / 3 leaves a third of the limit for the watchdog thread's own scheduling
// delays, so a block just over the limit is still flagged while it lasts.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { control, slots, lookMs } = workerData;
let seen = Atomics.load(control, ${BEAT});
for (;;) {
  Atomics.wait(control, ${STOP}, 0, lookMs);
  if (Atomics.load(control, ${STOP})) break;
  const beat = Atomics.load(control, ${BEAT});
  if (beat === seen && Atomics.load(slots, ${CAUGHT}) === 0) {
    // Not one beat since the last look: the main thread is stuck in whatever runs now.
    Atomics.store(slots, ${CAUGHT}, Atomics.load(slots, ${RUNNING}) || ${NO_TASK});
  }
  seen = beat;
}
`;

let active: BlockedLoopMonitor | undefined;

/**
 * Starts watching the event loop. `onBlocked` is called on the main thread once the loop is
 * free again, once per blocked stretch longer than `maxBlockingMs`. One detector per process
 * (there is one event loop); starting a second one throws.
 *
 * @example
 *   const monitor = startBlockedLoopMonitor({
 *     maxBlockingMs: 100,
 *     onBlocked: (e) => log.warn(e, 'event loop blocked'),
 *   });
 */
export function startBlockedLoopMonitor(options: {
  maxBlockingMs: number;
  onBlocked: (event: BlockedLoopEvent) => void;
}): BlockedLoopMonitor {
  if (active) throw new MonitorError('a blocked-loop monitor is already running');
  const { maxBlockingMs, onBlocked } = options;
  if (!(maxBlockingMs > 0)) throw new MonitorError(`maxBlockingMs must be positive, got ${maxBlockingMs}`);
  // A beat every quarter of the limit (at most every 50 ms) keeps the reported duration
  // within a quarter of the limit.
  const tickMs = Math.max(1, Math.min(50, Math.floor(maxBlockingMs / 4)));
  const control = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  Atomics.store(watchdogSlots, CAUGHT, 0);

  const worker = new Worker(WATCHDOG, {
    eval: true,
    workerData: { control, slots: watchdogSlots, lookMs: Math.max(1, Math.floor(maxBlockingMs / 3)) },
  });
  worker.unref();
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });
  ready.catch(() => {}); // a failed watchdog surfaces to whoever awaits `ready`

  let last = performance.now();
  const beat = () => {
    const now = performance.now();
    const gapMs = now - last;
    last = now;
    Atomics.add(control, BEAT, 1);
    const flagged = Atomics.exchange(watchdogSlots, CAUGHT, 0);
    // The gap between two beats, less the one tick it would have lasted anyway. The watchdog
    // also flags shorter stalls (over two thirds of the limit); only those past the limit count.
    if (flagged !== 0) report(flagged === NO_TASK ? 0 : flagged, gapMs - tickMs);
  };
  const report = (taskId: number, blockedMs: number) => {
    const task = takeCaughtTask(taskId);
    if (blockedMs <= maxBlockingMs) return;
    monitorStats.blockedLoopEvents++;
    onBlocked({ taskId, taskName: task?.describe(), blockedMs: Math.round(blockedMs) });
  };
  const timer = setInterval(beat, tickMs);
  timer.unref();

  let stopped: Promise<void> | undefined;
  const monitor: BlockedLoopMonitor = {
    ready,
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        Atomics.store(control, STOP, 1);
        Atomics.notify(control, STOP);
        if (active === monitor) active = undefined;
        await worker.terminate();
      })();
      return stopped;
    },
  };
  active = monitor;
  return monitor;
}

/** The detector was misused (started twice, or with a bad limit). */
export class MonitorError extends Error {
  readonly code = 'EMONITOR';
}
