import { sumIntervals, type IntervalCounts, type IntervalResult } from '../result/intervals.js';

/**
 * The main thread's side of the intervals: each worker thread reports its intervals in time
 * order, all from the run's first; an interval is summed over the threads, kept for the result
 * and handed to `onInterval` (the `--timeseries` line) as soon as every thread has reported
 * it. `finish` sums what is left when the run ends (a thread that saw its stop in the interval
 * before another's last).
 *
 * @example
 *   const collector = new IntervalCollector(2, (interval) => write(interval));
 *   collector.add(part); // from worker 0; nothing yet
 *   collector.add(part); // from worker 1: write(...)
 */
export class IntervalCollector {
  /** Every interval of the run, summed over the threads, in time order. */
  readonly intervals: IntervalResult[] = [];
  private readonly pending = new Map<number, IntervalCounts[]>();

  constructor(
    private readonly threads: number,
    private readonly onInterval: ((interval: IntervalResult) => void) | undefined,
  ) {}

  /** One thread's interval. */
  add(part: IntervalCounts): void {
    const parts = this.pending.get(part.start);
    if (parts === undefined) this.pending.set(part.start, [part]);
    else parts.push(part);
    if ((parts?.length ?? 1) === this.threads) this.flush(part.start);
  }

  /** Sums and hands on whatever was still waiting for a thread. */
  finish(): void {
    this.flush(Infinity);
  }

  /** Every pending interval up to `until` (epoch ms), in time order. */
  private flush(until: number): void {
    const starts = [...this.pending.keys()].filter((start) => start <= until).sort((a, b) => a - b);
    for (const start of starts) {
      const interval = sumIntervals(this.pending.get(start)!);
      this.pending.delete(start);
      this.intervals.push(interval);
      this.onInterval?.(interval);
    }
  }
}
