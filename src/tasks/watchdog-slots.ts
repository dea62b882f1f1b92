import { clockMs } from './clock.js';
import type { AnyTask } from './task.js';

/**
 * The memory the task runtime shares with the blocked-loop watchdog thread (`monitor.ts`,
 * `watchdog-thread.js`), which can look at it while the main thread is stuck.
 *
 * The runtime's part is one counter, slot `STEP`, bumped when a task's step begins and again
 * when it ends (a step: one resumption, from one switch point to the next), so it is odd while
 * a step runs and even between steps. Two looks that read the same odd value saw one and the
 * same step still running; a value that changed means steps came and went, however busy the
 * loop. That is what lets the detector tell one task holding the loop from a loop busy with
 * many short steps. It costs the data path what it cost to publish the running task's id:
 * two plain stores and one load per step; no clock, no allocation.
 *
 * @example
 *   // The runtime, around each step (task.ts):
 *   watchdogSlots[STEP] = ++count; // odd: a step runs
 *   // ... the step ...
 *   watchdogSlots[STEP] = ++count; // even: between steps
 *   if (watchdogSlots[CAUGHT] === count - 1) noteLongStep(task);
 *   // The monitor, at each beat (monitor.ts):
 *   const long = takeLongStep(); // the step to judge, if one was marked
 */

// Int32 slots.
/** The runtime's step counter: odd while a task's step runs, even between steps. */
export const STEP = 0;
/** The counter value of a step that the watchdog saw running at two looks in a row; 0: none. */
export const CAUGHT = 1;
/**
 * How long (whole ms) the watchdog has seen no task run and no beat come, once that is longer
 * than the limit: the loop is held outside any task. 0 otherwise; the monitor clears it.
 */
export const QUIET = 2;
/** Bumped by the monitor's heartbeat timer on the main thread. */
export const BEAT = 3;
/** Set to 1 to end the watchdog thread. */
export const STOP = 4;

// Float64 slots: what the watchdog knows about the step in `CAUGHT` and the stretch in
// `QUIET`, on the clock of `clock.js`.
/** When the watchdog first saw the step running: it ran at least from then. */
export const SEEN_AT = 0;
/** When the watchdog looked before that and the step had not begun: it began after this. */
export const STARTED_AFTER = 1;
/** The main thread's run delay (`RunDelay`) at `SEEN_AT`, or less. */
export const DELAY_AT_SEEN = 2;
/** The main thread's run delay when the stretch in `QUIET` began, or less. */
export const DELAY_AT_QUIET = 3;

const INT32_SLOTS = 8;
const FLOAT64_SLOTS = 4;
const buffer = new SharedArrayBuffer(INT32_SLOTS * 4 + FLOAT64_SLOTS * 8);

/** The Int32 slots above, shared with the watchdog thread. */
export const watchdogSlots = new Int32Array(buffer, 0, INT32_SLOTS);
/** The Float64 slots above, shared with the watchdog thread. */
export const watchdogTimes = new Float64Array(buffer, INT32_SLOTS * 4, FLOAT64_SLOTS);

/** The slot numbers, handed to the watchdog thread (it cannot import this .ts file). */
export const WATCHDOG_LAYOUT = {
  STEP,
  CAUGHT,
  QUIET,
  BEAT,
  STOP,
  SEEN_AT,
  STARTED_AFTER,
  DELAY_AT_SEEN,
  DELAY_AT_QUIET,
} as const;

/** What the watchdog thread starts with (its `workerData`). */
export interface WatchdogData {
  slots: Int32Array;
  times: Float64Array;
  layout: typeof WATCHDOG_LAYOUT;
  /** How often it looks. */
  lookMs: number;
  /** The limit: a stretch without any task or beat longer than this is written to `QUIET`. */
  maxBlockingMs: number;
}

/**
 * A step the watchdog saw running at two looks in a row, with what it knew and when the step
 * ended. All times are `clockMs()` readings.
 */
export interface LongStep {
  task: AnyTask;
  seenAt: number;
  startedAfter: number;
  delayAtSeen: number;
  endedAt: number;
}

let longest: LongStep | undefined;

/**
 * Called by the runtime at the end of a step whose counter value the watchdog wrote into
 * `CAUGHT`: rare (only steps longer than one look), so it may read the clock. Keeps the step
 * that ran longest since it was seen, net of the run delay, until the monitor takes it.
 */
export function noteLongStep(task: AnyTask): void {
  const endedAt = clockMs();
  // An atomic read of the slot the watchdog wrote last: its earlier writes of the times are
  // visible from here on. Clearing it lets the watchdog catch the next one.
  Atomics.exchange(watchdogSlots, CAUGHT, 0);
  const seenAt = watchdogTimes[SEEN_AT]!;
  const delayAtSeen = watchdogTimes[DELAY_AT_SEEN]!;
  // Whichever delay the main thread reads later is the same for every step noted meanwhile,
  // so the longest net of it is the one with the largest (end - seen + delay at seen).
  if (longest && endedAt - seenAt + delayAtSeen <= longest.endedAt - longest.seenAt + longest.delayAtSeen) return;
  longest = { task, seenAt, startedAfter: watchdogTimes[STARTED_AFTER]!, delayAtSeen, endedAt };
}

/** The step kept by `noteLongStep` since the last call, if any; forgets it. */
export function takeLongStep(): LongStep | undefined {
  const step = longest;
  longest = undefined;
  return step;
}

/** Clears what a previous watchdog left behind (the runtime's counter stays as it is). */
export function resetWatchdogSlots(): void {
  for (const slot of [CAUGHT, QUIET, BEAT, STOP]) Atomics.store(watchdogSlots, slot, 0);
  longest = undefined;
}

/** A stretch in which no task ran and no beat came, as the watchdog saw it (`QUIET`). */
export interface QuietStretch {
  /** How long the watchdog saw it last (it may have lasted a little longer). */
  lastedMs: number;
  /** The main thread's run delay when it began, or less. */
  delayAtStart: number;
}

/** The stretch in `QUIET`, if the watchdog wrote one since the last call; clears it. */
export function takeQuietStretch(): QuietStretch | undefined {
  // Atomic, as in `noteLongStep`: the delay written before the first length is visible after it.
  const lastedMs = Atomics.exchange(watchdogSlots, QUIET, 0);
  return lastedMs === 0 ? undefined : { lastedMs, delayAtStart: watchdogTimes[DELAY_AT_QUIET]! };
}
