import { createLatencyHistogram, decodeHistogram, encodeHistogram, summarizeHistogram, type Histogram } from '../worker/histogram.js';
import { FAILURE_KIND_NAMES, noFailures, totalFailures, type FailureCounts } from './failure-kind.js';

/**
 * How an interval relates to the measured window, whose figures the totals are:
 * - `before`: entirely before it (connecting, warm-up);
 * - `partial`: the window started during it (or, merged, it did for some of the parts);
 * - `inside`: entirely inside it (a run stops at the window's end, so nothing comes after).
 */
export type IntervalWindow = 'before' | 'partial' | 'inside';

/**
 * One interval of a run, as a worker thread reports it and, summed, as the result holds it.
 * Intervals are cut on wall-clock multiples of their length (epoch ms), so that every worker
 * thread and every process cuts time at the same instants and intervals of many merge by
 * `start`. They cover the whole run: connecting, warm-up and the measured window.
 */
export interface IntervalCounts {
  /** Epoch ms, a multiple of the interval length: the key intervals merge by. */
  start: number;
  /**
   * Seconds of the interval the run covered: its length, but for the first (the run started
   * during it) and the last (the run stopped during it).
   */
  duration: number;
  window: IntervalWindow;
  /** Connections open and healthy at the interval's end. */
  open: number;
  /** Connections established in it. */
  connects: number;
  /** Connections the client ended politely in it, before the run's end (a lifetime, a ramp-down). */
  closes: number;
  /** Under `--reconnect`: connections the server side broke in it, and reconnects established in it. */
  disrupted: number;
  reconnects: number;
  /** Echoes completed and verified in it, and their bytes. */
  messages: number;
  bytes: number;
  /**
   * Connections whose first echo came back in it. That echo is set-up (`firstEcho`), not in
   * the interval's latency; with `--pipeline N` neither are the other N - 1 messages of the
   * connection's first burst.
   */
  firstEchoes: number;
  /** Connections that failed in it, by kind (`FAILURE_KIND_NAMES`). */
  failures: FailureCounts;
  /** The interval's echo latency, encoded as the result's `histograms` are (µs). */
  histograms: { latency: string };
}

/** An interval of the result: its counts, and its echo latency summarized (ms). */
export interface IntervalResult extends IntervalCounts {
  /** Failed connections of every kind. */
  errors: number;
  /** Echo latency in ms: `p50`, `p90`, `p99`, `p99_9`, `max`, and `totalCount`. */
  latency: IntervalLatency;
}

/** The latency keys an interval carries: the over-time view's and a plot's, not all of the totals'. */
const LATENCY_KEYS = ['p50', 'p90', 'p99', 'p99_9', 'max'] as const;

/** An interval's echo latency, summarized (ms), and how many echoes it holds. */
export type IntervalLatency = Record<(typeof LATENCY_KEYS)[number] | 'totalCount', number>;

/** An interval's counts (beside `failures`): each adds up when intervals are merged, `open` too. */
export const INTERVAL_COUNT_NAMES = ['open', 'connects', 'closes', 'disrupted', 'reconnects', 'messages', 'bytes', 'firstEchoes'] as const;
type IntervalCountName = (typeof INTERVAL_COUNT_NAMES)[number];

function noCounts(): Record<IntervalCountName, number> {
  return { open: 0, connects: 0, closes: 0, disrupted: 0, reconnects: 0, messages: 0, bytes: 0, firstEchoes: 0 };
}

/**
 * Intervals of the same `start`, from worker threads or processes that ran side by side, as
 * one: counts (`open` too) summed, histograms added, `duration` the longest; `partial` when
 * the parts disagree on the window. Sorted by `start`.
 *
 * @example
 *   mergeIntervals([...a.intervals, ...b.intervals]) // one entry per start
 */
export function mergeIntervals(parts: readonly IntervalCounts[]): IntervalResult[] {
  const byStart = new Map<number, IntervalCounts[]>();
  for (const part of parts) {
    const group = byStart.get(part.start);
    if (group === undefined) byStart.set(part.start, [part]);
    else group.push(part);
  }
  return [...byStart.keys()].sort((a, b) => a - b).map((start) => sumIntervals(byStart.get(start)!));
}

/** Parts of one interval (the same `start`) as one. */
export function sumIntervals(parts: readonly IntervalCounts[]): IntervalResult {
  const { sums, failures, latency, window } = addUp(parts);
  const duration = Math.max(...parts.map((part) => part.duration));
  return intervalResult({ start: parts[0]!.start, duration, window, ...sums, failures }, latency);
}

/**
 * Consecutive intervals of one result as one, for a coarser view: counts summed, `open` the
 * last one's (held at the group's end), `duration` summed, histograms added.
 */
export function joinIntervals(run: readonly IntervalResult[]): IntervalResult {
  const { sums, failures, latency, window } = addUp(run);
  const duration = run.reduce((total, interval) => total + interval.duration, 0);
  return intervalResult({ start: run[0]!.start, duration, window, ...sums, open: run.at(-1)!.open, failures }, latency);
}

/** Intervals' counts and failures summed, histograms added; the window `partial` unless they all agree. */
function addUp(parts: readonly IntervalCounts[]) {
  const failures = noFailures();
  const latency = createLatencyHistogram();
  const sums = noCounts();
  for (const part of parts) {
    for (const key of INTERVAL_COUNT_NAMES) sums[key] += part[key];
    for (const kind of FAILURE_KIND_NAMES) failures[kind] += part.failures[kind] ?? 0;
    latency.add(decodeHistogram(part.histograms.latency));
  }
  const first = parts[0]!.window;
  const window: IntervalWindow = parts.every((part) => part.window === first) ? first : 'partial';
  return { sums, failures, latency, window };
}

function intervalResult(counts: Omit<IntervalCounts, 'histograms'>, latency: Histogram): IntervalResult {
  const summary = summarizeHistogram(latency, 1000);
  const described = { totalCount: latency.totalCount } as IntervalLatency;
  for (const key of LATENCY_KEYS) described[key] = summary[key]!;
  const errors = totalFailures(counts.failures);
  return { ...counts, duration: Math.round(counts.duration * 1000) / 1000, errors, latency: described, histograms: { latency: encodeHistogram(latency) } };
}
