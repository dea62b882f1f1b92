import { describe, expect, it } from 'vitest';
import type { IntervalCounts } from '../../../load/result/intervals.js';
import { decodeHistogram } from '../../../load/worker/histogram.js';
import { IntervalRecorder } from '../../../load/worker/interval-recorder.js';
import { Tally } from '../../../load/worker/tally.js';

const epochNow = () => performance.timeOrigin + performance.now();

/** Holds the thread (no timer can fire) for `ms`. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Resolves on a later turn of the loop, after the timers due by then have run. */
const nextTurn = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('IntervalRecorder', () => {
  it('reports the counts and latency of each interval, and folds the window out of the run', () => {
    const tally = new Tally();
    const reported: IntervalCounts[] = [];
    const recorder = new IntervalRecorder(tally, 100, (interval) => reported.push(interval));
    recorder.start(epochNow());
    tally.connected = tally.open = 2;
    tally.messages = 3;
    tally.bytes = 192;
    for (const micros of [100, 200, 300]) tally.targets[0]!.latency.recordValue(micros);
    tally.startMeasuring();
    tally.messages = 5;
    for (const micros of [400, 500]) tally.targets[0]!.latency.recordValue(micros);
    tally.fail('reset', 'connection reset');
    tally.open = 1;
    recorder.stop();

    const counts = reported.reduce((sum, interval) => sum + interval.messages, 0);
    expect(counts).toBe(5);
    expect(reported.reduce((sum, interval) => sum + decodeHistogram(interval.histograms.latency).totalCount, 0)).toBe(5);
    expect(reported.reduce((sum, interval) => sum + interval.failures.reset, 0)).toBe(1);
    expect(reported.at(-1)!.open).toBe(1);
    // The totals are the window's: the two echoes after startMeasuring.
    expect(decodeHistogram(tally.encodeHistograms().latency).totalCount).toBe(2);
    expect(reported.map((interval) => interval.window)).toContain('partial');
  });

  it('puts what came before a boundary seen late in the earliest interval, and reports the ones skipped as empty', async () => {
    const tally = new Tally();
    const reported: IntervalCounts[] = [];
    const recorder = new IntervalRecorder(tally, 100, (interval) => reported.push(interval));
    // Start just after a boundary, so that the busy stretch below passes two or three more.
    await nextTurn(100 - (epochNow() % 100) + 5);
    recorder.start(epochNow());
    tally.messages = 7;
    tally.targets[0]!.latency.recordValue(250);
    busy(260);
    await nextTurn();
    recorder.stop();
    expect(reported.length).toBeGreaterThanOrEqual(3);
    reported.forEach((interval, i) => i > 0 && expect(interval.start - reported[i - 1]!.start).toBe(100));
    expect(reported[0]!.messages).toBe(7);
    expect(decodeHistogram(reported[0]!.histograms.latency).totalCount).toBe(1);
    for (const interval of reported.slice(1)) {
      expect(interval.messages).toBe(0);
      expect(decodeHistogram(interval.histograms.latency).totalCount).toBe(0);
    }
  });
});
