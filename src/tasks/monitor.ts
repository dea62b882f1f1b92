import { BeatJudge } from './beat-judge.js';
import { BLOCKED_LOOP_CAUSES, type BlockedLoopCause, type BlockedLoopEvent } from './blocked-loop-event.js';
import { MainThreadTimes } from './clock.js';
import { startWatchdog } from './watchdog.js';
import { LATEST_RAN, LATEST_WAITED, WATCHDOG_LAYOUT, resetWatchdogSlots, watchdogSlots, watchdogTimes } from './watchdog-slots.js';

/**
 * The warning of the lesson (`docs/lesson.md`) made visible: one task that blocks without
 * switching stalls every other task on the thread. Like gevent's hub monitor
 * (`max_blocking_time`), this detector reports when the event loop was held longer than a
 * limit, and why, and it names a task only when that one task's single step (one resumption,
 * from one switch point to the next) held the loop that long. A loop that is merely busy
 * (thousands of short steps, one poll phase serving a thousand sockets before timers run
 * again) is not any task's fault, and is reported as such.
 *
 * How, at no cost to the data path:
 * - A timer on the main thread beats every `tick` ms; a beat that comes more than the limit
 *   late means the loop was held, for whatever reason.
 * - The runtime bumps a step counter in shared memory as each step begins and ends (two plain
 *   stores per step, see `watchdog-slots.ts`). A watchdog thread (`watchdog-thread.js`) looks
 *   at it every `look` ms. When it reads the same running step twice, it marks that step; the
 *   step then reads the clock once, as it ends. When it sees neither a step nor a beat for
 *   longer than the limit, it says so.
 * - At the next beat the main thread judges (`beat-judge.ts`), always net of the time the
 *   kernel kept the process from running: the main thread's own wait for a CPU (Linux's run
 *   delay), and the time it slept while other threads of the process waited for one, up to
 *   the shorter of the two (it may sleep on a lock that such a thread holds: the metrics
 *   thread, at nice 19, holds its message port's lock, and beside a busy neighbour on the same
 *   core it waits for the CPU for hundreds of ms). A marked step that surely ran longer than
 *   the limit (from the watchdog's first sighting to its end) is the task's fault; else a
 *   quiet stretch that long is the loop held outside any task; else a beat late by more than
 *   the limit, net, is a busy loop; else the beat was late only because the machine ran
 *   something else: `unscheduled`, which says nothing against the server.
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
  const watchdog = startWatchdog({ slots: watchdogSlots, times: watchdogTimes, layout: WATCHDOG_LAYOUT, lookMs, tickMs, maxBlockingMs });

  const judge = new BeatJudge(main, tickMs, maxBlockingMs);
  const timer = setInterval(() => {
    const event = judge.beat();
    if (event === undefined) return;
    monitorStats.blockedLoopEvents[event.cause]++;
    onBlocked(event);
  }, tickMs);
  timer.unref();

  let stopped: Promise<void> | undefined;
  const monitor: BlockedLoopMonitor = {
    ready: watchdog.ready,
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await watchdog.stop();
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
 * The detector was misused (started twice, or with a bad limit).
 *
 * @example
 *   try { startBlockedLoopMonitor(options); }
 *   catch (error) { if (error instanceof MonitorError) ... }
 */
export class MonitorError extends Error {
  readonly code = 'EMONITOR';
}
