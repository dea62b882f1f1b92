import type { BlockedLoopEvent } from './blocked-loop-event.js';
import { clockMs, otherThreadsWaitedMs, type MainThreadTimes } from './clock.js';
import {
  BEAT,
  CAUGHT,
  LATEST_RAN,
  LATEST_WAITED,
  WATCHDOG_TID,
  takeLongStep,
  takeQuietStretch,
  watchdogSlots,
  watchdogTimes,
  type Baseline,
  type LongStep,
  type QuietStretch,
} from './watchdog-slots.js';

/**
 * The blocked-loop detector's verdict, given on the main thread at each beat of its timer
 * (`monitor.ts` tells the whole story and the rules): whether the loop was held since the beat
 * before, and why.
 *
 * @example
 *   const judge = new BeatJudge(main, tickMs, maxBlockingMs);
 *   setInterval(() => { const event = judge.beat(); if (event) onBlocked(event); }, tickMs);
 */
export class BeatJudge {
  // The interval since the beat before: when it began, and the main thread's times as the
  // watchdog had read them last before it.
  private from = clockMs();
  private ranAtFrom: number;
  private waitedAtFrom: number;

  /** `main` has been read just before: its figures are the first beat's baseline. */
  constructor(
    private readonly main: MainThreadTimes,
    private readonly tickMs: number,
    private readonly maxBlockingMs: number,
  ) {
    this.ranAtFrom = main.ranMs;
    this.waitedAtFrom = main.waitedMs;
  }

  /** One beat: tells the watchdog, and returns the event to report, if there is one. */
  beat(): BlockedLoopEvent | undefined {
    const now = clockMs();
    // The main thread's times as the watchdog read them last, before this beat: the baseline
    // of the next interval. Two loads; no file is read at a beat that is on time.
    const ranAtNow = watchdogTimes[LATEST_RAN]!;
    const waitedAtNow = watchdogTimes[LATEST_WAITED]!;
    Atomics.add(watchdogSlots, BEAT, 1);
    // A mark still here is for a step that had ended before the watchdog wrote it.
    Atomics.store(watchdogSlots, CAUGHT, 0);
    const long = takeLongStep();
    const quiet = takeQuietStretch();
    // The gap between two beats, less the one tick it would have lasted anyway.
    const lateMs = now - this.from - this.tickMs;
    const event = !long && !quiet && lateMs <= this.maxBlockingMs ? undefined : this.judge(now, lateMs, long, quiet);
    this.from = now;
    this.ranAtFrom = ranAtNow;
    this.waitedAtFrom = waitedAtNow;
    return event;
  }

  /** The verdict on a late beat or a marked stretch, by the rules in `monitor.ts`, in order. */
  private judge(now: number, lateMs: number, long: LongStep | undefined, quiet: QuietStretch | undefined): BlockedLoopEvent | undefined {
    const { main, maxBlockingMs, from } = this;
    // Now the kernel's figures, which are file reads.
    main.read();
    const othersWaitedMs = long || quiet ? otherThreadsWaitedMs([process.pid, Atomics.load(watchdogSlots, WATCHDOG_TID)]) : NaN;
    const since = (baseline: Baseline) => unscheduledSince(baseline, now, main, othersWaitedMs);
    // Every step noted since the last beat began after it (no beat runs during a step): one
    // seen earlier is a stale mark (counter wrapped), not this one.
    if (long && long.seen.at >= from) {
      const heldMs = long.endedAt - long.seen.at - since(long.seen).totalMs;
      if (heldMs > maxBlockingMs) {
        // It began after both the previous beat and the watchdog's look before it was seen.
        const blockedMs = long.endedAt - Math.max(from, long.startedAfter);
        return { cause: 'task', taskId: long.task.id, taskName: long.task.describe(), blockedMs: Math.round(blockedMs) };
      }
    }
    if (lateMs <= maxBlockingMs) return undefined;
    if (quiet && quiet.lastedMs - since(quiet.began).totalMs > maxBlockingMs) {
      return { cause: 'outside', blockedMs: Math.round(lateMs) };
    }
    // The whole interval: this thread's own waits since the beat before, and the sleep through
    // other threads' waits that a suspect stretch in it showed (the larger: they overlap).
    const waitedMs =
      main.waitedMs - this.waitedAtFrom + Math.max(long ? since(long.seen).sleptMs : 0, quiet ? since(quiet.began).sleptMs : 0);
    if (lateMs - waitedMs > maxBlockingMs) return { cause: 'busy', lateMs: Math.round(lateMs) };
    // Both measured from the watchdog's reading before the previous beat: said of the gap.
    const gapMs = now - from;
    const ranMs = Math.min(main.ranMs - this.ranAtFrom, gapMs);
    return { cause: 'unscheduled', lateMs: Math.round(lateMs), ranMs: Math.round(ranMs), waitedMs: Math.round(Math.min(waitedMs, gapMs - ranMs)) };
  }
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
