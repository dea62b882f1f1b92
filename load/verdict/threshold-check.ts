import { decodeHistogram, percentileKey, summarizeHistogram } from '../worker/histogram.js';
import { formatCount, formatMs } from '../report/format.js';
import type { LoadResult } from '../result/result.js';
import { compare, type FigureName, type Threshold, type ThresholdResult } from './threshold.js';

/**
 * Checks every threshold against a result, a run's or a merge's: the same figures the
 * report and the JSON show, times from the encoded histograms (any percentile).
 *
 * @example
 *   checkThresholds(result, parseThresholds(['p99<20ms'])) // [{ threshold: 'p99<20ms', value: 1.234, passed: true, ... }]
 */
export function checkThresholds(result: LoadResult, thresholds: readonly Threshold[]): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const value = measure(result, threshold);
    const subject = threshold.subject;
    const unit = subject.kind === 'time' ? 'ms' : subject.kind === 'count' ? '' : subject.name === 'rate' ? 'msg/s' : 'B/s';
    return {
      threshold: threshold.expression,
      metric: threshold.metric,
      operator: threshold.operator,
      limit: threshold.limit,
      value,
      unit,
      passed: value !== null && compare(value, threshold.operator, threshold.limit),
    };
  });
}

/** `threshold p99<20ms crossed: latency_p99 was 25.32 ms`, for stderr. */
export function describeCrossed(outcome: ThresholdResult): string {
  return `threshold ${outcome.threshold} crossed: ${describeValue(outcome)}`;
}

/**
 * The report's lines for the thresholds: nothing when there are none.
 *
 * @example
 *   formatThresholds(result.thresholds) // ['Thresholds: 1 passed, 1 crossed', '  ok      p99<20ms (latency_p99 was 1.23 ms)', ...]
 */
export function formatThresholds(outcomes: readonly ThresholdResult[] = []): string[] {
  if (outcomes.length === 0) return [];
  const crossed = outcomes.filter((outcome) => !outcome.passed).length;
  return [
    `Thresholds: ${outcomes.length - crossed} passed, ${crossed} crossed`,
    ...outcomes.map((outcome) => `  ${outcome.passed ? 'ok     ' : 'CROSSED'} ${outcome.threshold} (${describeValue(outcome)})`),
  ];
}

function describeValue(outcome: ThresholdResult): string {
  if (outcome.value === null) return `${outcome.metric} has no samples`;
  const value = outcome.unit === 'ms' ? formatMs(outcome.value) : `${formatCount(outcome.value)}${outcome.unit === '' ? '' : ` ${outcome.unit}`}`;
  return `${outcome.metric} was ${value}`;
}

function measure(result: LoadResult, threshold: Threshold): number | null {
  const subject = threshold.subject;
  if (subject.kind !== 'time') return figure(result, subject.name);
  const encoded = result.histograms?.[subject.timing];
  if (encoded === undefined) return null;
  const histogram = decodeHistogram(encoded);
  if (histogram.totalCount === 0) return null;
  // The same rounding as the JSON's statistics, so a threshold and the report agree.
  const summary = summarizeHistogram(histogram, 1000);
  const stat = subject.stat;
  if ('name' in stat) return summary[stat.name === 'avg' ? 'average' : stat.name]!;
  return summary[percentileKey(stat.percentile)] ?? Math.round(histogram.getValueAtPercentile(stat.percentile)) / 1000;
}

function figure(result: LoadResult, name: FigureName): number {
  switch (name) {
    case 'handshake_failures':
      return result.handshakeFailures;
    case 'ports_exhausted':
      return result.portsExhausted;
    case 'messages':
      return result.requests.total ?? 0;
    case 'sent':
      return result.requests.sent ?? 0;
    case 'bytes':
      return result.throughput.total ?? 0;
    case 'rate':
      return result.requests.average ?? 0;
    case 'throughput':
      return result.throughput.average ?? 0;
    default:
      return result[name];
  }
}
