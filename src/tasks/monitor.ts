import { Worker } from 'node:worker_threads';
import { clockMs, RunDelay } from './clock.js';
import {
  BEAT,
  CAUGHT,
  STOP,
  WATCHDOG_LAYOUT,
  resetWatchdogSlots,
  takeLongStep,
  takeQuietStretch,
  watchdogSlots,
  watchdogTimes,
  type WatchdogData,
} from './watchdog-slots.js';

/**
 * The lesson's warning made visible: one task that blocks without switching stalls every
 * other task on the thread. Like gevent's hub monitor (`max_blocking_time`), this detector
 * reports when the event loop was held longer than a limit, and why, and it names a task only
 * when that one task's single step (one resumption, from one switch point to the next) held
 * the loop that long. A loop that is merely busy (thousands of short steps, one poll phase
 * serving a thousand sockets before timers run again) is not any task's fault, and is
 * reported as such.
 *
 * How, at no cost to the data path:
 * - A timer on the main thread beats every `tick` ms; a beat that comes more than the limit
 *   late means the loop was held, for whatever reason.
 * - The runtime bumps a step counter in shared memory as each step begins and ends (two plain
 *   stores per step, see `watchdog-slots.ts`). A watchdog thread (`watchdog-thread.js`) looks
 *   at it every `look` ms. When it reads the same running step twice, it marks that step; the
 *   step then reads the clock once, as it ends. When it sees neither a step nor a beat for
 *   longer than the limit, it says so.
 * - At the next beat the main thread judges: a marked step that surely ran longer than the
 *   limit (from the watchdog's first sighting to its end, less any time the kernel kept the
 *   thread waiting for a CPU) is the task's fault; else a quiet stretch that long is the loop
 *   held outside any task; else a late beat is a busy loop.
 * Nothing is timed per message or per step, and the main thread never wakes the watchdog:
 * measured on a loaded server, waking it on every beat (`Atomics.notify`) cost more than
 * everything else here.
 *
 * Precision: a step is named once it ran longer than the limit plus up to one look (an eighth
 * of the limit, at most 25 ms). Its `blockedMs` never undercounts the step, and overcounts it
 * by at most about a look (more only if the watchdog thread itself was kept from running).
 * Where the kernel does not report run delay (not Linux), wall time is all there is, and a
 * task preempted for longer than the limit on an overloaded machine can be named.
 */

/** Why the loop was held: the label values of `echo_blocked_loop_events_total{cause}`. */
export const BLOCKED_LOOP_CAUSES = ['task', 'outside', 'busy'] as const;
export type BlockedLoopCause = (typeof BLOCKED_LOOP_CAUSES)[number];

/** What the detector reports, once per late beat. */
export type BlockedLoopEvent =
  /** One step of one task held the loop longer than the limit. */
  | { cause: 'task'; taskId: number; taskName: string; blockedMs: number }
  /** The loop was held that long while no task ran: code outside any task, a GC pause. */
  | { cause: 'outside'; blockedMs: number }
  /** Timers ran `lateMs` late, but no one step and no stretch outside tasks held it that long. */
  | { cause: 'busy'; lateMs: number };

/** Counted by the detector; the metrics endpoint reads them when scraped. */
export const monitorStats = {
  blockedLoopEvents: Object.fromEntries(BLOCKED_LOOP_CAUSES.map((cause) => [cause, 0])) as Record<BlockedLoopCause, number>,
};

/** A running detector: see `startBlockedLoopMonitor`. */
export interface BlockedLoopMonitor {
  /** Resolves once the watchdog thread runs: blocks are caught from then on. */
  readonly ready: Promise<void>;
  /** Stops the timer and the watchdog thread. Idempotent. */
  stop(): Promise<void>;
}

// The thread's program is a file of its own, plain JavaScript (see watchdog-thread.js), next
// to this one both in src/ and in dist/.
const WATCHDOG_THREAD = new URL('./watchdog-thread.js', import.meta.url);

let active: BlockedLoopMonitor | undefined;

/**
 * Starts watching the event loop. `onBlocked` is called on the main thread once the loop is
 * free again, once per beat that came more than `maxBlockingMs` late. One detector per process
 * (there is one event loop); starting a second one throws.
 *
 * @example
 *   const monitor = startBlockedLoopMonitor({
 *     maxBlockingMs: 100,
 *     onBlocked: (e) => { if (e.cause === 'task') log.warn(e, 'event loop blocked by a task'); },
 *   });
 */
export function startBlockedLoopMonitor(options: {
  maxBlockingMs: number;
  onBlocked: (event: BlockedLoopEvent) => void;
}): BlockedLoopMonitor {
  if (active) throw new MonitorError('a blocked-loop monitor is already running');
  const { maxBlockingMs, onBlocked } = options;
  if (!(maxBlockingMs > 0)) throw new MonitorError(`maxBlockingMs must be positive, got ${maxBlockingMs}`);
  // A beat every quarter of the limit (at most every 50 ms) keeps the lateness within a
  // quarter of the limit. A look every eighth (at most every 25 ms) names a step soon after it
  // passes the limit; the looks cost the watchdog thread, not the event loop.
  const tickMs = Math.max(1, Math.min(50, Math.floor(maxBlockingMs / 4)));
  const lookMs = Math.max(1, Math.min(25, maxBlockingMs / 8));
  resetWatchdogSlots();
  const runDelay = new RunDelay();

  const workerData: WatchdogData = { slots: watchdogSlots, times: watchdogTimes, layout: WATCHDOG_LAYOUT, lookMs, maxBlockingMs };
  const worker = new Worker(WATCHDOG_THREAD, { workerData, name: 'blocked-loop watchdog' });
  worker.unref();
  // Not `once(worker, 'exit')`: that also rejects on 'error', which `ready` reports.
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    // Not 'online': the thread is up then, but its module may not have run yet.
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  ready.catch(() => {}); // a failed watchdog surfaces to whoever awaits `ready`

  const report = (event: BlockedLoopEvent) => {
    monitorStats.blockedLoopEvents[event.cause]++;
    onBlocked(event);
  };
  let last = clockMs();
  const beat = () => {
    const now = clockMs();
    const previous = last;
    last = now;
    Atomics.add(watchdogSlots, BEAT, 1);
    // A mark still here is for a step that had ended before the watchdog wrote it.
    Atomics.store(watchdogSlots, CAUGHT, 0);
    const long = takeLongStep();
    const quiet = takeQuietStretch();
    // The run delay is read only when there is something to judge: it is a file read.
    const delay = long || quiet ? runDelay.ms() : 0;
    // Every step noted since the last beat began after it (no beat runs during a step): one
    // seen earlier is a stale mark (counter wrapped), not this one.
    if (long && long.seenAt >= previous) {
      const heldMs = long.endedAt - long.seenAt - (delay - long.delayAtSeen);
      if (heldMs > maxBlockingMs) {
        // It began after both the previous beat and the watchdog's look before it was seen.
        const blockedMs = long.endedAt - Math.max(previous, long.startedAfter);
        report({ cause: 'task', taskId: long.task.id, taskName: long.task.describe(), blockedMs: Math.round(blockedMs) });
        return;
      }
    }
    // The gap between two beats, less the one tick it would have lasted anyway.
    const lateMs = now - previous - tickMs;
    if (lateMs <= maxBlockingMs) return;
    if (quiet && quiet.lastedMs - (delay - quiet.delayAtStart) > maxBlockingMs) {
      report({ cause: 'outside', blockedMs: Math.round(lateMs) });
    } else {
      report({ cause: 'busy', lateMs: Math.round(lateMs) });
    }
  };
  const timer = setInterval(beat, tickMs);
  timer.unref();

  let stopped: Promise<void> | undefined;
  const monitor: BlockedLoopMonitor = {
    ready,
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        // The thread ends by itself once it sees STOP, and closes its file on the way out.
        // Referenced again meanwhile, or a process with nothing else to do would exit first.
        worker.ref();
        Atomics.store(watchdogSlots, STOP, 1);
        Atomics.notify(watchdogSlots, STOP);
        await exited;
        runDelay.close();
        // Only now: a new detector resets the slots, STOP among them.
        if (active === monitor) active = undefined;
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
