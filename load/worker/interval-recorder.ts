import { FAILURE_KIND_NAMES, noFailures } from '../result/failure-kind.js';
import type { IntervalCounts, IntervalWindow } from '../result/intervals.js';
import { encodeHistogram } from './histogram.js';
import type { Tally } from './tally.js';

/** Epoch ms, sub-ms precision, on this thread's clock: every thread's and process's reads alike. */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Cuts one worker's run into intervals on wall-clock multiples of `lengthMs` (epoch ms), so
 * that every thread and process cuts at the same instants, and reports each as it ends: the
 * tally's counts since the previous one, the latency folded out of the targets' histograms,
 * and connections open at its end. A timer at each boundary does the work; the data path is
 * not touched (it records into the targets' `latency` as ever).
 *
 * A boundary seen late (the loop was busy past one or more boundaries) puts the counts since
 * the last one in the earliest interval not yet reported, and reports the intervals skipped
 * as empty: while the loop was busy nothing was counted, so the counts are from before.
 *
 * @example
 *   const recorder = new IntervalRecorder(tally, 1000, (interval) => port.postMessage({ type: 'interval', interval }));
 *   recorder.start(startsAt);
 *   recorder.stop(); // reports the last, partial, interval
 */
export class IntervalRecorder {
  /** Start (epoch ms) of the interval being recorded, and since when it is (the run's start for the first). */
  private current = 0;
  private since = 0;
  private measuringAtStart = false;
  private timer: NodeJS.Timeout | undefined;
  /** The tally's counts at the previous interval's end. */
  private readonly last = { connected: 0, closed: 0, disrupted: 0, reconnects: 0, messages: 0, bytes: 0, firstEchoes: 0, failed: noFailures() };

  constructor(
    private readonly tally: Tally,
    private readonly lengthMs: number,
    private readonly emit: (interval: IntervalCounts) => void,
  ) {}

  /** Starts the first interval at `startsAt` (epoch ms), the run's start. */
  start(startsAt: number): void {
    this.current = Math.floor(startsAt / this.lengthMs) * this.lengthMs;
    this.since = startsAt;
    this.measuringAtStart = this.tally.measuring;
    this.schedule();
  }

  /** Reports the interval the run stops in (and any boundary not yet seen); no more after. */
  stop(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = epochNow();
    this.close(now, Math.max(this.current + this.lengthMs, Math.ceil(now / this.lengthMs) * this.lengthMs));
  }

  private schedule(): void {
    this.timer = setTimeout(this.onBoundary, Math.max(0, this.current + this.lengthMs - epochNow()));
  }

  private readonly onBoundary = (): void => {
    const now = epochNow();
    // A timer may fire a little early (libuv's clock is whole ms): then it waits again.
    const upTo = Math.floor(now / this.lengthMs) * this.lengthMs;
    if (upTo > this.current) this.close(now, upTo);
    this.schedule();
  };

  /** Reports every interval from `current` to `upTo` (epoch ms, exclusive), the counts in the first. */
  private close(now: number, upTo: number): void {
    const tally = this.tally;
    tally.fold();
    const window: IntervalWindow = this.measuringAtStart ? 'inside' : tally.measuring ? 'partial' : 'before';
    const last = this.last;
    const failures = noFailures();
    for (const kind of FAILURE_KIND_NAMES) {
      failures[kind] = tally.failed[kind] - last.failed[kind];
      last.failed[kind] = tally.failed[kind];
    }
    const firstEchoes = tally.firstEcho.totalCount;
    const end = Math.min(now, this.current + this.lengthMs);
    this.emit({
      start: this.current,
      duration: (end - this.since) / 1000,
      window,
      open: tally.open,
      connects: tally.connected - last.connected,
      closes: tally.closed - last.closed,
      disrupted: tally.disrupted - last.disrupted,
      reconnects: tally.reconnects - last.reconnects,
      messages: tally.messages - last.messages,
      bytes: tally.bytes - last.bytes,
      firstEchoes: firstEchoes - last.firstEchoes,
      failures,
      histograms: { latency: encodeHistogram(tally.intervalLatency) },
    });
    tally.intervalLatency.reset();
    Object.assign(last, { connected: tally.connected, closed: tally.closed, disrupted: tally.disrupted, reconnects: tally.reconnects, messages: tally.messages, bytes: tally.bytes, firstEchoes });
    const empty = encodeHistogram(tally.intervalLatency);
    for (let start = this.current + this.lengthMs; start < upTo; start += this.lengthMs) {
      const covered = (Math.min(now, start + this.lengthMs) - start) / 1000;
      const none = { connects: 0, closes: 0, disrupted: 0, reconnects: 0, messages: 0, bytes: 0, firstEchoes: 0 };
      this.emit({ start, duration: covered, window, open: tally.open, ...none, failures: noFailures(), histograms: { latency: empty } });
    }
    this.current = this.since = upTo;
    this.measuringAtStart = tally.measuring;
  }
}
