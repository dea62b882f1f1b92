import { OptionError } from '../../src/parse-option.js';
import type { Timing } from '../worker/tally.js';

/**
 * A pass/fail criterion for CI, as k6's thresholds are: `--threshold 'p99<20ms'`. The grammar
 * is stated once, here, by the lists below (the option's help and the parse errors are made
 * from them):
 *
 *     threshold := metric operator number [unit]      (spaces allowed around the operator)
 *     operator  := OPERATORS
 *     metric    := [timing "_"] stat | count | rate
 *     timing    := TIMING_PREFIXES (latency without one)
 *     stat      := p<N> (any percentile: p50, p99, p99.9 or p99_9) | NAMED_STATS
 *     count     := COUNTS
 *     rate      := RATES
 *     unit      := TIME_UNITS (times only; a bare number is ms)
 *
 * Times are compared in ms, from the result's HDR histograms (the same values the report
 * shows), so `p99<20ms`, `p99<20` and `p99<20000us` are one threshold. A time threshold over a
 * distribution without samples (no echo at all; `handshake_*` without `--tls`) fails: no
 * evidence is not a pass.
 *
 * @example
 *   parseThreshold('first_echo_p99<1s') // { timing: 'firstEcho', stat: 'p99', operator: '<', limit: 1000, ... }
 */
export interface Threshold {
  /** The text as given (trimmed). */
  expression: string;
  /** The canonical metric name: `latency_p99`, `first_echo_max`, `errors`, `rate`. */
  metric: string;
  operator: Operator;
  /** In ms for a time, messages/s for `rate`, bytes/s for `throughput`, a count otherwise. */
  limit: number;
  /** What is compared: a time stat of one distribution, or a figure of the result. */
  subject: { kind: 'time'; timing: Timing; stat: TimeStat } | { kind: 'count' | 'rate'; name: FigureName };
}

/** One threshold's outcome, as the JSON carries it (`thresholds`). */
export interface ThresholdResult {
  /** The expression as given: `p99<20ms`. */
  threshold: string;
  /** The canonical metric: `latency_p99`. */
  metric: string;
  operator: Operator;
  /** The limit, in `unit`. */
  limit: number;
  /** The measured value, in `unit`; null when the distribution had no samples (which fails). */
  value: number | null;
  unit: 'ms' | 'msg/s' | 'B/s' | '';
  passed: boolean;
}

/** The comparisons, in the order the help lists them. */
export const OPERATORS = ['<', '<=', '>', '>=', '=='] as const;
export type Operator = (typeof OPERATORS)[number];

/** `p` with a percentile (0-100], or a named statistic. */
export type TimeStat = { percentile: number } | { name: NamedStat };

/** The statistics of a distribution a threshold may name beside percentiles (`avg` and `mean` are one). */
export const NAMED_STATS = ['avg', 'mean', 'min', 'max', 'stddev'] as const;
type NamedStat = (typeof NAMED_STATS)[number];

/** The counts a threshold may name, compared as plain numbers. */
export const COUNTS = ['errors', 'refused', 'resets', 'timeouts', 'mismatches', 'handshake_failures', 'ports_exhausted', 'messages', 'sent', 'bytes', 'connected', 'held'] as const;
/** The rates: `rate` messages/s (the exact average), `throughput` bytes/s. */
export const RATES = ['rate', 'throughput'] as const;
export type FigureName = (typeof COUNTS)[number] | (typeof RATES)[number];

/** The timing prefixes, as written in a threshold, and the distribution each names; without one, `latency`. */
export const TIMING_PREFIXES: Readonly<Record<string, Timing>> = {
  latency: 'latency',
  connect: 'connect',
  handshake: 'handshake',
  first_echo: 'firstEcho',
};

/** The units of a time, in ms each; a bare number is ms. */
export const TIME_UNITS: Readonly<Record<string, number>> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };

/** The examples the help and the errors give. */
const EXAMPLES = 'p99<20ms, errors==0, rate>10000';

/** The metrics, in one line: `[latency_|connect_|...]p<N>|avg|..., errors, ..., rate, throughput`. */
const PREFIXES = `[${Object.keys(TIMING_PREFIXES).map((prefix) => `${prefix}_`).join('|')}]`;
const METRICS = `${PREFIXES}p<N>|${NAMED_STATS.join('|')}, ${[...COUNTS, ...RATES].join(', ')}`;

/**
 * The grammar in one line, for `--threshold`'s help.
 *
 * @example
 *   THRESHOLD_SYNTAX // 'metrics: [latency_|connect_|handshake_|first_echo_]p<N>|avg|mean|min|max|stddev, errors, ...; operators < <= > >= ==; units us, µs, ms (default), s'
 */
export const THRESHOLD_SYNTAX = `metrics: ${METRICS}; operators ${OPERATORS.join(' ')}; units ${Object.keys(TIME_UNITS)
  .map((unit) => (unit === 'ms' ? 'ms (default)' : unit))
  .join(', ')}`;

/** `--threshold`'s examples, for its help. */
export const THRESHOLD_EXAMPLES = `${EXAMPLES}, first_echo_p99<1s`;

/** metric, operator (the longer first: `<=` before `<`), number, unit. */
const SHAPE = new RegExp(`^([a-z][a-z0-9_.]*)\\s*(${[...OPERATORS].sort((a, b) => b.length - a.length).join('|')})\\s*(\\d+(?:\\.\\d+)?)\\s*([a-zµ]*)$`);

/** Parses one threshold; an `OptionError` (exit 2) names what is wrong with it. */
export function parseThreshold(text: string): Threshold {
  const expression = text.trim();
  const match = SHAPE.exec(expression);
  const fail = (why: string) => new OptionError(`invalid threshold '${expression}': ${why}`);
  if (match === null) throw fail(`use metric, operator (${OPERATORS.join(' ')}) and a number, e.g. ${EXAMPLES}`);
  const [, name = '', operator = '<', number = '0', unit = ''] = match;
  const value = Number(number);
  const figure = [...COUNTS, ...RATES].find((candidate) => candidate === name);
  if (figure !== undefined) {
    if (unit !== '') throw fail(`${name} takes a plain number, without a unit`);
    const kind = (RATES as readonly string[]).includes(figure) ? 'rate' : 'count';
    return { expression, metric: figure, operator: operator as Operator, limit: value, subject: { kind, name: figure } };
  }
  const prefix = Object.keys(TIMING_PREFIXES).find((candidate) => name.startsWith(`${candidate}_`));
  const statText = prefix === undefined ? name : name.slice(prefix.length + 1);
  const stat = parseStat(statText);
  if (stat === undefined) {
    throw fail(`unknown metric '${name}': use ${PREFIXES}p99 (any percentile), ${NAMED_STATS.join(', ')}; or ${[...COUNTS, ...RATES].join(', ')}`);
  }
  const scale = TIME_UNITS[unit === '' ? 'ms' : unit];
  if (scale === undefined) throw fail(`unknown unit '${unit}': use ${Object.keys(TIME_UNITS).join(', ')}`);
  const timing = TIMING_PREFIXES[prefix ?? 'latency']!;
  const statName = 'percentile' in stat ? `p${String(stat.percentile).replace('.', '_')}` : stat.name;
  return {
    expression,
    metric: `${prefix ?? 'latency'}_${statName}`,
    operator: operator as Operator,
    limit: value * scale,
    subject: { kind: 'time', timing, stat },
  };
}

/**
 * Parses every `--threshold` value; one value may hold several, separated by commas (an
 * environment variable holds them all).
 */
export function parseThresholds(values: readonly string[]): Threshold[] {
  return values.flatMap((value) => value.split(',')).filter((text) => text.trim() !== '').map(parseThreshold);
}

function parseStat(text: string): TimeStat | undefined {
  const named = NAMED_STATS.find((candidate) => candidate === text);
  if (named !== undefined) return { name: named };
  const percentile = /^p(\d+(?:[._]\d+)?)$/.exec(text);
  if (percentile === null) return undefined;
  const value = Number(percentile[1]!.replace('_', '.'));
  return value > 0 && value <= 100 ? { percentile: value } : undefined;
}

/** Whether `value operator limit` holds. */
export function compare(value: number, operator: Operator, limit: number): boolean {
  switch (operator) {
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '==':
      return value === limit;
  }
}
