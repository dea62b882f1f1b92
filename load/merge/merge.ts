import { createLatencyHistogram, decodeHistogram, encodeHistogram, type Histogram } from '../worker/histogram.js';
import { FAILURE_KIND_NAMES, FAILURE_KINDS, type FailureCountFields, type FailureKind, type FailureNotes } from '../result/failure-kind.js';
import { describeRates, describeTiming, targetResult, type EncodedHistograms, type LoadResult, type ShapeFields, type TargetCountName, type TargetResult } from '../result/result.js';
import { TIMINGS, type Timing } from '../worker/tally.js';
import { mergeIntervals, type IntervalResult } from '../result/intervals.js';

/** A merge, and what did not agree between its inputs (said on stderr, not fatal). */
export interface Merged {
  result: LoadResult;
  /** `inputs differ in size (64, 1024): the report shows the first`. */
  warnings: string[];
}

/** Settings a merge expects every input to share: they describe the experiment, not its outcome. */
const SETTINGS = ['size', 'pipelining', 'rate', 'tls', 'proxyProtocol', 'arrivalRate', 'reconnecting'] as const;

/**
 * Merges the results of processes that ran at the same time (an Indexed Job's pods, several
 * machines) into the result one process holding every connection would have reported:
 * counts are exact sums, distributions come from the sum of the encoded HDR histograms (so
 * every percentile is exact), targets are matched by name. Time: `duration` is the longest
 * measured window, `requests.average` the total over it, and per-second sample i is the sum of
 * every input's sample i (the inputs measured side by side); `start` is the earliest, `finish`
 * the latest; intervals of the same `start` are one interval (see `mergeIntervals`). Inputs
 * must carry `histograms`, `targets` and `series` (see merge-input.ts).
 *
 * @example
 *   const { result } = mergeResults([a, b, c]); // result.requests.total === a + b + c totals
 */
export function mergeResults(inputs: readonly LoadResult[]): Merged {
  const [first] = inputs;
  if (first === undefined) throw new RangeError('mergeResults: no results');
  const sum = (get: (result: LoadResult) => number) => inputs.reduce((total, result) => total + get(result), 0);
  const warnings = SETTINGS.flatMap((setting) => {
    const values = [...new Set(inputs.map((result) => result[setting]))];
    return values.length > 1 ? [`inputs differ in ${setting} (${values.join(', ')}): the report shows the first`] : [];
  });

  const tls = inputs.some((result) => result.histograms?.handshake !== undefined);
  const reconnecting = inputs.some((result) => result.histograms?.reconnect !== undefined);
  const histograms = {} as Record<Timing, Histogram>;
  for (const timing of TIMINGS) {
    histograms[timing] = addAll(inputs.map((result) => result.histograms?.[timing]));
  }
  const encoded: EncodedHistograms = {
    latency: encodeHistogram(histograms.latency),
    connect: encodeHistogram(histograms.connect),
    ...(tls && { handshake: encodeHistogram(histograms.handshake) }),
    firstEcho: encodeHistogram(histograms.firstEcho),
    ...(reconnecting && { reconnect: encodeHistogram(histograms.reconnect) }),
  };

  const counts = {} as FailureCountFields;
  const failures: FailureNotes = {};
  for (const kind of FAILURE_KIND_NAMES) {
    const key = FAILURE_KINDS[kind].key;
    if (key !== undefined) counts[key] = sum((result) => result[key]);
  }
  for (const result of inputs) {
    for (const [kind, note] of Object.entries(result.failures)) failures[kind as FailureKind] ??= note;
  }

  const duration = Math.max(...inputs.map((result) => result.duration));
  const series = { messages: sumSeries(inputs.map((result) => result.series?.messages ?? [])), bytes: sumSeries(inputs.map((result) => result.series?.bytes ?? [])) };
  const messages = sum((result) => result.requests.total ?? 0);
  const bytes = sum((result) => result.throughput.total ?? 0);
  const timing = (name: Timing) => describeTiming(histograms[name]);
  const intervals = mergeRunIntervals(inputs, warnings);
  return {
    warnings,
    result: {
      host: first.host,
      address: first.address,
      port: first.port,
      connections: sum((result) => result.connections),
      connected: sum((result) => result.connected),
      held: sum((result) => result.held),
      ...mergeShapes(inputs, sum),
      workers: sum((result) => result.workers),
      pipelining: first.pipelining,
      rate: first.rate,
      size: first.size,
      tls: first.tls,
      proxyProtocol: first.proxyProtocol,
      duration,
      samples: series.messages.length,
      sampleInt: 1000,
      start: inputs.map((result) => result.start).reduce((a, b) => (a < b ? a : b)),
      finish: inputs.map((result) => result.finish).reduce((a, b) => (a > b ? a : b)),
      errors: sum((result) => result.errors),
      ...counts,
      interrupted: inputs.some((result) => result.interrupted),
      latency: timing('latency'),
      connect: timing('connect'),
      ...(tls && { handshake: timing('handshake') }),
      firstEcho: timing('firstEcho'),
      ...(reconnecting && { reconnect: timing('reconnect') }),
      requests: { ...describeRates(series.messages, messages, duration), total: messages, sent: sum((result) => result.requests.sent ?? 0) },
      throughput: { ...describeRates(series.bytes, bytes, duration), total: bytes },
      failures,
      merged: sum((result) => result.merged ?? 1),
      targets: mergeTargets(inputs.flatMap((result) => result.targets ?? [])),
      series,
      ...intervals,
      thresholds: [],
      histograms: encoded,
    },
  };
}

/** The shape's counts, summed; its settings, the first input's (differences are warned about). */
function mergeShapes(inputs: readonly LoadResult[], sum: (get: (result: LoadResult) => number) => number): ShapeFields {
  const first = inputs[0]!;
  return {
    expectHeld: sum((result) => result.expectHeld),
    closed: sum((result) => result.closed),
    disrupted: sum((result) => result.disrupted),
    reconnects: sum((result) => result.reconnects),
    unechoedBytes: sum((result) => result.unechoedBytes),
    idle: { connections: sum((result) => result.idle.connections), held: sum((result) => result.idle.held) },
    ...(first.stages !== undefined && { stages: first.stages }),
    arrivalRate: first.arrivalRate,
    ...(first.arrivals !== undefined && { arrivals: first.arrivals }),
    ...(first.connectionLifetime !== undefined && { connectionLifetime: first.connectionLifetime }),
    reconnecting: first.reconnecting,
  };
}

/**
 * The inputs' intervals merged by start, when every input has them at one length. Else none,
 * with a warning: intervals of different lengths (or a result without them, from an older
 * echo-load) cannot be added up by time, while the totals still merge exactly.
 */
function mergeRunIntervals(inputs: readonly LoadResult[], warnings: string[]): { intervalMs?: number; intervals?: IntervalResult[] } {
  const without = inputs.filter((result) => result.intervals === undefined || result.intervalMs === undefined).length;
  if (without === inputs.length) return {};
  if (without > 0) {
    warnings.push(`${without} of ${inputs.length} inputs have no intervals (from an older echo-load?): the merge has none`);
    return {};
  }
  const lengths = [...new Set(inputs.map((result) => result.intervalMs))];
  if (lengths.length > 1) {
    warnings.push(`inputs differ in interval length (${lengths.join(', ')} ms): their intervals cannot be merged by time, the merge has none`);
    return {};
  }
  return { intervalMs: lengths[0]!, intervals: mergeIntervals(inputs.flatMap((result) => result.intervals!)) };
}

/** Targets of the same name are one target: counts summed, latency histograms added. */
function mergeTargets(parts: readonly TargetResult[]): TargetResult[] {
  const byName = new Map<string, TargetResult[]>();
  for (const part of parts) byName.set(part.target, [...(byName.get(part.target) ?? []), part]);
  return [...byName.values()].map((group) => {
    const add = (key: TargetCountName) => group.reduce((total, part) => total + part[key], 0);
    const { target, host, address, port } = group[0]!;
    return targetResult({ target, host, address, port }, add, addAll(group.map((part) => part.histograms.latency)));
  });
}

/** The sum of encoded histograms; a missing one (no `handshake` without TLS) adds nothing. */
function addAll(encoded: ReadonlyArray<string | undefined>): Histogram {
  const total = createLatencyHistogram();
  for (const text of encoded) if (text !== undefined) total.add(decodeHistogram(text));
  return total;
}

/** Element-wise sum; a shorter series adds nothing past its end. */
function sumSeries(series: readonly (readonly number[])[]): number[] {
  const length = Math.max(0, ...series.map((values) => values.length));
  return Array.from({ length }, (_, i) => series.reduce((total, values) => total + (values[i] ?? 0), 0));
}
