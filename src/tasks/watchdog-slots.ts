import { clockMs } from './clock.js';

/**
 * The memory the task runtime shares with the blocked-loop watchdog thread (`monitor.ts`,
 * `watchdog-thread.js`), which can look at it while the main thread is stuck.
 *
 * The runtime's part is one counter, slot `STEP`, bumped when a task's step begins and again
 * when it ends (a step: one resumption, from one switch point to the next), so it is odd while
 * a step runs and even between steps. Two looks that read the same odd value saw one and the
 * same step still running; a value that changed means steps came and went, however busy the
 * loop. That is what lets the detector tell one task holding the loop from a loop busy with
 * many short steps. It costs the data path two plain stores and one load per step; no clock,
 * no allocation.
 *
 * @example
 *   // The runtime, around each step (task.ts):
 *   watchdogSlots[STEP] = ++count; // odd: a step runs
 *   // ... the step ...
 *   watchdogSlots[STEP] = ++count; // even: between steps
 *   if (watchdogSlots[CAUGHT] === count - 1) noteLongStep(task);
 *   // The monitor, at each beat (beat-judge.ts):
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
/** The watchdog thread's own id (Linux), which the monitor leaves out of the other threads' waits. */
export const WATCHDOG_TID = 5;

// Float64 slots: what the watchdog knows about the step in `CAUGHT` and the stretch in
// `QUIET`, on the clock of `clock.js`, and what the kernel had said about the process by then
// (`MainThreadTimes`, `otherThreadsWaitedMs`; lower bounds, see there).
/** When the watchdog first saw the step running: it ran at least from then. */
export const SEEN_AT = 0;
/** When the watchdog looked before that and the step had not begun: it began after this. */
export const STARTED_AFTER = 1;
/** The main thread's run delay at `SEEN_AT`, or less. */
export const WAITED_AT_SEEN = 2;
/** The main thread's time on a CPU at `SEEN_AT`, or less. */
export const RAN_AT_SEEN = 3;
/** The other threads' run delay, read at the look that marked the step (NaN: unknown). */
export const OTHERS_AT_SEEN = 4;
/** When the watchdog saw the stretch in `QUIET` begin (it began a little earlier). */
export const QUIET_SINCE = 5;
/** The main thread's run delay at `QUIET_SINCE`, or less. */
export const WAITED_AT_QUIET = 6;
/** The main thread's time on a CPU at `QUIET_SINCE`, or less. */
export const RAN_AT_QUIET = 7;
/** The other threads' run delay, read once the stretch had lasted a tick (NaN: unknown). */
export const OTHERS_AT_QUIET = 8;
/** The main thread's time on a CPU at the watchdog's last look: the monitor's baseline per beat. */
export const LATEST_RAN = 9;
/** The main thread's run delay at the watchdog's last look. */
export const LATEST_WAITED = 10;

const INT32_SLOTS = 8;
const FLOAT64_SLOTS = 11;
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
  WATCHDOG_TID,
  SEEN_AT,
  STARTED_AFTER,
  WAITED_AT_SEEN,
  RAN_AT_SEEN,
  OTHERS_AT_SEEN,
  QUIET_SINCE,
  WAITED_AT_QUIET,
  RAN_AT_QUIET,
  OTHERS_AT_QUIET,
  LATEST_RAN,
  LATEST_WAITED,
} as const;

/** What the watchdog thread starts with (its `workerData`). */
export interface WatchdogData {
  slots: Int32Array;
  times: Float64Array;
  layout: typeof WATCHDOG_LAYOUT;
  /** How often it looks. */
  lookMs: number;
  /** How often the monitor beats: a stretch without a beat longer than this is late. */
  tickMs: number;
  /** The limit: a stretch without any task or beat longer than this is written to `QUIET`. */
  maxBlockingMs: number;
}

/**
 * What the kernel had said about the process when a stretch began (all lower bounds): the
 * monitor compares it with what the kernel says once the stretch is over.
 */
export interface Baseline {
  /** When the stretch began, as far as anyone saw (`clockMs()`); the figures are from then or before. */
  at: number;
  /** The main thread's time on a CPU. */
  ranMs: number;
  /** The main thread's run delay. */
  waitedMs: number;
  /** The other threads' run delay, summed; read once the stretch was late; NaN: unknown. */
  othersWaitedMs: number;
}

/**
 * What a long step's report needs of the task that ran it: its id and its description. A
 * `Task` is one; stated here so that these slots depend on no task, and the runtime (which
 * writes them) depends on them, one way.
 */
export interface StepOwner {
  readonly id: number;
  describe(): string;
}

/**
 * A step the watchdog saw running at two looks in a row, with what it knew and when the step
 * ended. All times are `clockMs()` readings; `seen.at` is when the watchdog first saw it.
 */
export interface LongStep {
  task: StepOwner;
  seen: Baseline;
  startedAfter: number;
  endedAt: number;
}

let longest: LongStep | undefined;

/**
 * Called by the runtime at the end of a step whose counter value the watchdog wrote into
 * `CAUGHT`: rare (only steps longer than one look), so it may read the clock. Keeps the step
 * that ran longest since it was seen, net of the run delay, until the monitor takes it.
 */
export function noteLongStep(task: StepOwner): void {
  const endedAt = clockMs();
  // An atomic read of the slot the watchdog wrote last: its earlier writes of the times are
  // visible from here on. Clearing it lets the watchdog catch the next one.
  Atomics.exchange(watchdogSlots, CAUGHT, 0);
  const seenAt = watchdogTimes[SEEN_AT]!;
  const waitedAtSeen = watchdogTimes[WAITED_AT_SEEN]!;
  // Whichever delay the main thread reads later is the same for every step noted meanwhile,
  // so the longest net of it is the one with the largest (end - seen + delay at seen).
  if (longest && endedAt - seenAt + waitedAtSeen <= longest.endedAt - longest.seen.at + longest.seen.waitedMs) return;
  longest = {
    task,
    seen: { at: seenAt, ranMs: watchdogTimes[RAN_AT_SEEN]!, waitedMs: waitedAtSeen, othersWaitedMs: watchdogTimes[OTHERS_AT_SEEN]! },
    startedAfter: watchdogTimes[STARTED_AFTER]!,
    endedAt,
  };
}

/** The step kept by `noteLongStep` since the last call, if any; forgets it. */
export function takeLongStep(): LongStep | undefined {
  const step = longest;
  longest = undefined;
  return step;
}

/** Clears what a previous watchdog left behind (the runtime's counter stays as it is). */
export function resetWatchdogSlots(): void {
  for (const slot of [CAUGHT, QUIET, BEAT, STOP, WATCHDOG_TID]) Atomics.store(watchdogSlots, slot, 0);
  longest = undefined;
}

/** A stretch in which no task ran and no beat came, as the watchdog saw it (`QUIET`). */
export interface QuietStretch {
  /** How long the watchdog saw it last (it may have lasted a little longer). */
  lastedMs: number;
  /** When it began (`began.at`), and what the kernel had said by then. */
  began: Baseline;
}

/** The stretch in `QUIET`, if the watchdog wrote one since the last call; clears it. */
export function takeQuietStretch(): QuietStretch | undefined {
  // Atomic, as in `noteLongStep`: the times written before the first length are visible after it.
  const lastedMs = Atomics.exchange(watchdogSlots, QUIET, 0);
  if (lastedMs === 0) return undefined;
  const began = {
    at: watchdogTimes[QUIET_SINCE]!,
    ranMs: watchdogTimes[RAN_AT_QUIET]!,
    waitedMs: watchdogTimes[WAITED_AT_QUIET]!,
    othersWaitedMs: watchdogTimes[OTHERS_AT_QUIET]!,
  };
  return { lastedMs, began };
}
