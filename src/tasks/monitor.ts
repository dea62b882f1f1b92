import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { runningTaskId, type AnyTask } from './task.js';

/**
 * The lesson's warning made visible: one task that blocks without switching stalls every
 * other task on the thread. Like gevent's hub monitor (`max_blocking_time`), this detector
 * reports when the event loop was held longer than a limit, and names the task that held it.
 *
 * How, at no cost to the data path: a timer on the main thread beats a counter in shared
 * memory every `tick` ms. A watchdog thread wakes every `maxBlockingMs / 2` and looks at the
 * counter. If it has not moved since its last look, the loop is blocked right now, so the
 * watchdog reads `runningTaskId` (which the runtime keeps in shared memory anyway) and flags
 * that task. The main thread sees the flag on its first beat after the block, knows from its
 * own timer how long the gap was, and reports it if the gap exceeds the limit. Nothing is timed
 * per message or per task step, and the main thread never wakes the watchdog: measured on a
 * loaded server, waking it on every beat (`Atomics.notify`) cost more than everything else here.
 */

/** What the detector reports, once per blocked stretch of the event loop. */
export interface BlockedLoopEvent {
  /** Id of the task that held the thread while the loop was blocked; 0 if none did. */
  taskId: number;
  /** That task's name (e.g. `conn 127.0.0.1:5555`), if it was tracked; see `track`. */
  taskName: string | undefined;
  /** About how long the loop was blocked, in milliseconds (timer resolution: one tick). */
  blockedMs: number;
}

/** Counted by the detector; the metrics endpoint reads it when scraped. */
export const monitorStats = { blockedLoopEvents: 0 };

/** A running detector: see `startBlockedLoopMonitor`. */
export interface BlockedLoopMonitor {
  /**
   * Remembers `task` so that a report names it (by `task.name`) rather than by id alone. The
   * entry goes when the task ends. Costs one map entry per task, not per step.
   */
  track(task: AnyTask): void;
  /** Resolves once the watchdog thread runs: blocks are caught from then on. */
  readonly ready: Promise<void>;
  /** Stops the timer and the watchdog thread. Idempotent. */
  stop(): Promise<void>;
}

// Slots of the shared control array.
const BEAT = 0; // incremented by the main thread on every tick
const FLAGGED = 1; // 1 + id of the task the watchdog caught holding the loop; 0 = nothing
const STOP = 2; // set to 1 to end the watchdog

// The watchdog thread, kept as source so that it runs the same from src/ (vitest) and dist/.
// A block of 2 * lookMs always spans one whole interval between two looks, so with
// lookMs = maxBlockingMs / 2 every block longer than the limit gets flagged while it lasts.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { control, running, lookMs } = workerData;
let seen = Atomics.load(control, ${BEAT});
for (;;) {
  Atomics.wait(control, ${STOP}, 0, lookMs);
  if (Atomics.load(control, ${STOP})) break;
  const beat = Atomics.load(control, ${BEAT});
  if (beat === seen && Atomics.load(control, ${FLAGGED}) === 0) {
    // Not one beat since the last look: the main thread is stuck in whatever runs now.
    Atomics.store(control, ${FLAGGED}, Atomics.load(running, 0) + 1);
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
 *   monitor.track(spawn(handle, socket));
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
  const control = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const tracked = new Map<number, AnyTask>();

  const worker = new Worker(WATCHDOG, {
    eval: true,
    workerData: { control, running: runningTaskId, lookMs: Math.max(1, Math.floor(maxBlockingMs / 2)) },
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
    const flagged = Atomics.exchange(control, FLAGGED, 0);
    // The gap between two beats, less the one tick it would have lasted anyway. The watchdog
    // also flags shorter stalls (over half the limit); only those past the limit count.
    if (flagged !== 0) report(flagged - 1, gapMs - tickMs);
  };
  const report = (taskId: number, blockedMs: number) => {
    const task = tracked.get(taskId);
    if (task?.dead) tracked.delete(taskId); // it ended during the block: kept until now
    if (blockedMs <= maxBlockingMs) return;
    monitorStats.blockedLoopEvents++;
    onBlocked({ taskId, taskName: task?.describe(), blockedMs: Math.round(blockedMs) });
  };
  const timer = setInterval(beat, tickMs);
  timer.unref();

  // One listener per monitor, not one closure per task. A task the watchdog flagged stays
  // until it is reported, even if it ended in the very step that blocked.
  const untrack = (task: AnyTask) => {
    if (Atomics.load(control, FLAGGED) !== task.id + 1) tracked.delete(task.id);
  };

  let stopped: Promise<void> | undefined;
  const monitor: BlockedLoopMonitor = {
    ready,
    track(task) {
      if (stopped || task.dead) return;
      tracked.set(task.id, task);
      task.link(untrack);
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        Atomics.store(control, STOP, 1);
        Atomics.notify(control, STOP);
        for (const task of tracked.values()) task.unlink(untrack);
        tracked.clear();
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
