import { Worker } from 'node:worker_threads';
import { clockMs, MainThreadTimes, otherThreadsWaitedMs } from './clock.js';
import {
  BEAT,
  CAUGHT,
  LATEST_RAN,
  LATEST_WAITED,
  STOP,
  WATCHDOG_LAYOUT,
  WATCHDOG_TID,
  resetWatchdogSlots,
  takeLongStep,
  takeQuietStretch,
  watchdogSlots,
  watchdogTimes,
  type Baseline,
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
 * - At the next beat the main thread judges, always net of the time the kernel kept the
 *   process from running: the main thread's own wait for a CPU (Linux's run delay), and the
 *   time it slept while other threads of the process waited for one, up to the shorter of the
 *   two (it may sleep on a lock that such a thread holds: the metrics thread, at nice 19,
 *   holds its message port's lock, and beside a busy neighbour on the same core it waits for
 *   the CPU for hundreds of ms). A marked step that surely ran longer than the limit (from
 *   the watchdog's first sighting to its end) is the task's fault; else a quiet stretch that
 *   long is the loop held outside any task; else a beat late by more than the limit, net, is
 *   a busy loop; else the beat was late only because the machine ran something else:
 *   `unscheduled`, which says nothing against the server.
 * Nothing is timed per message or per step, and the main thread never wakes the watchdog:
 * measured on a loaded server, waking it on every beat (`Atomics.notify`) cost more than
 * everything else here.
 *
 * Precision: a step is named once it ran longer than the limit plus up to one look (an eighth
 * of the limit, at most 25 ms). Its `blockedMs` never undercounts the step, and overcounts it
 * by at most about a look (more only if the watchdog thread itself was kept from running).
 * The other threads' waits are read only for a late stretch, a tick into it (or when a step
 * is marked): sleep through a wait that ended before that, up to a tick and a look, is
 * blamed. Sleep that no other thread's wait explains is the loop's own (a blocking call), and
 * blamed. Where the kernel does not report run delay (not Linux), wall time is all there is,
 * and a task preempted for longer than the limit on an overloaded machine can be named.
 */

/** Why the loop was held: the label values of `echo_blocked_loop_events_total{cause}`. */
export const BLOCKED_LOOP_CAUSES = ['task', 'outside', 'busy', 'unscheduled'] as const;
export type BlockedLoopCause = (typeof BLOCKED_LOOP_CAUSES)[number];

/** What the detector reports, once per late beat. */
export type BlockedLoopEvent =
  /** One step of one task held the loop longer than the limit. */
  | { cause: 'task'; taskId: number; taskName: string; blockedMs: number }
  /** The loop was held that long while no task ran: code outside any task, a GC pause. */
  | { cause: 'outside'; blockedMs: number }
  /** Timers ran `lateMs` late, but no one step and no stretch outside tasks held it that long. */
  | { cause: 'busy'; lateMs: number }
  /**
   * Timers ran `lateMs` late because the process was not run: for all but at most the limit of
   * that time the kernel kept the main thread, or a thread it waited for, waiting for a CPU
   * (`waitedMs` in all) while it ran another process. `ranMs`: how long the main thread was on
   * a CPU from the beat before to this one; the two add up to the gap between the beats or less.
   */
  | { cause: 'unscheduled'; lateMs: number; ranMs: number; waitedMs: number };

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
  const main = new MainThreadTimes();
  // The first beat's baseline, until the watchdog's first look publishes its own.
  main.read();
  watchdogTimes[LATEST_RAN] = main.ranMs;
  watchdogTimes[LATEST_WAITED] = main.waitedMs;

  const workerData: WatchdogData = { slots: watchdogSlots, times: watchdogTimes, layout: WATCHDOG_LAYOUT, lookMs, tickMs, maxBlockingMs };
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
  let ranAtLast = main.ranMs;
  let waitedAtLast = main.waitedMs;
  const beat = () => {
    const now = clockMs();
    const previous = last;
    last = now;
    // The main thread's times as the watchdog read them last, before this beat: the baseline
    // of the next interval. Two loads; no file is read at a beat that is on time.
    const ranAtPrevious = ranAtLast;
    const waitedAtPrevious = waitedAtLast;
    ranAtLast = watchdogTimes[LATEST_RAN]!;
    waitedAtLast = watchdogTimes[LATEST_WAITED]!;
    Atomics.add(watchdogSlots, BEAT, 1);
    // A mark still here is for a step that had ended before the watchdog wrote it.
    Atomics.store(watchdogSlots, CAUGHT, 0);
    const long = takeLongStep();
    const quiet = takeQuietStretch();
    // The gap between two beats, less the one tick it would have lasted anyway.
    const lateMs = now - previous - tickMs;
    if (!long && !quiet && lateMs <= maxBlockingMs) return;
    // Something to judge: now the kernel's figures, which are file reads.
    main.read();
    const othersWaitedMs = long || quiet ? otherThreadsWaitedMs([process.pid, Atomics.load(watchdogSlots, WATCHDOG_TID)]) : NaN;
    const since = (from: Baseline) => unscheduledSince(from, now, main, othersWaitedMs);
    // Every step noted since the last beat began after it (no beat runs during a step): one
    // seen earlier is a stale mark (counter wrapped), not this one.
    if (long && long.seen.at >= previous) {
      const heldMs = long.endedAt - long.seen.at - since(long.seen).totalMs;
      if (heldMs > maxBlockingMs) {
        // It began after both the previous beat and the watchdog's look before it was seen.
        const blockedMs = long.endedAt - Math.max(previous, long.startedAfter);
        report({ cause: 'task', taskId: long.task.id, taskName: long.task.describe(), blockedMs: Math.round(blockedMs) });
        return;
      }
    }
    if (lateMs <= maxBlockingMs) return;
    if (quiet && quiet.lastedMs - since(quiet.began).totalMs > maxBlockingMs) {
      report({ cause: 'outside', blockedMs: Math.round(lateMs) });
      return;
    }
    // The whole interval: this thread's own waits since the beat before, and the sleep through
    // other threads' waits that a suspect stretch in it showed (the larger: they overlap).
    const waitedMs =
      main.waitedMs - waitedAtPrevious + Math.max(long ? since(long.seen).sleptMs : 0, quiet ? since(quiet.began).sleptMs : 0);
    if (lateMs - waitedMs > maxBlockingMs) {
      report({ cause: 'busy', lateMs: Math.round(lateMs) });
    } else {
      // Both measured from the watchdog's reading before the previous beat: said of the gap.
      const gapMs = now - previous;
      const ranMs = Math.min(main.ranMs - ranAtPrevious, gapMs);
      report({ cause: 'unscheduled', lateMs: Math.round(lateMs), ranMs: Math.round(ranMs), waitedMs: Math.round(Math.min(waitedMs, gapMs - ranMs)) });
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
        main.close();
        // Only now: a new detector resets the slots, STOP among them.
        if (active === monitor) active = undefined;
      })();
      return stopped;
    },
  };
  active = monitor;
  return monitor;
}

/**
 * Of the time from `from` to `now`, how long the kernel kept this process from running: the
 * main thread's own wait for a CPU, plus the time it slept (neither ran nor waited) while the
 * other threads waited for one, up to the shorter of the two, since it may have slept on a lock
 * that one of them held (the metrics thread, at the lowest priority, is one). Sleep beyond that
 * is the loop's own: a blocking call.
 */
function unscheduledSince(from: Baseline, now: number, main: MainThreadTimes, othersWaitedMs: number): { totalMs: number; sleptMs: number } {
  const waitedMs = main.waitedMs - from.waitedMs;
  const othersMs = othersWaitedMs - from.othersWaitedMs; // NaN where either reading failed: none
  const sleptMs = Number.isFinite(othersMs) ? Math.max(0, Math.min(now - from.at - (main.ranMs - from.ranMs) - waitedMs, othersMs)) : 0;
  return { totalMs: waitedMs + sleptMs, sleptMs };
}

/** The detector was misused (started twice, or with a bad limit). */
export class MonitorError extends Error {
  readonly code = 'EMONITOR';
}
