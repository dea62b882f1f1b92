import { decodeHistogram } from '../worker/histogram.js';
import type { LoadResult } from '../result/result.js';
import { INTERVAL_COUNT_NAMES } from '../result/intervals.js';

/** An input `echo-load merge` cannot use: the CLI prints the message (one line) and exits 2. */
export class MergeInputError extends Error {
  readonly code = 'EMERGEINPUT';
}

/** The results found in one input, and the lines that were something else. */
export interface ParsedInput {
  results: LoadResult[];
  /** Non-blank lines that were not results (log lines, `kubectl` chatter). */
  skipped: number;
  /** Where the first of them was: `pods.log:3`. */
  firstSkipped: string | undefined;
}

/**
 * Finds echo-load results in the text of one input (`source` names it in messages): a file
 * holding one JSON result (pretty-printed or not), or lines as `kubectl logs` gives them, where
 * a result is one line of JSON among log lines. A line may carry a prefix before its JSON
 * (`kubectl logs --prefix` or `--timestamps`). Lines that are not results (pino log lines are
 * JSON too) are counted, not fatal; a result that cannot be merged exactly (no histograms: an
 * older echo-load; a histogram that does not decode; a missing count) is a `MergeInputError`.
 *
 * @example
 *   parseResults(execSync('kubectl logs -l job-name=echo-load').toString(), '-') // { results: [...], skipped: 12, ... }
 */
export function parseResults(text: string, source: string): ParsedInput {
  const whole = parseObject(text.trim());
  if (whole !== undefined && isResultShaped(whole)) return { results: [checkResult(whole, source)], skipped: 0, firstSkipped: undefined };
  const parsed: ParsedInput = { results: [], skipped: 0, firstSkipped: undefined };
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    const where = `${source}:${i + 1}`;
    const brace = trimmed.indexOf('{');
    const value = parseObject(trimmed) ?? (brace > 0 ? parseObject(trimmed.slice(brace)) : undefined);
    if (value !== undefined && isResultShaped(value)) {
      parsed.results.push(checkResult(value, where));
    } else {
      parsed.skipped++;
      parsed.firstSkipped ??= where;
    }
  });
  return parsed;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An echo-load (or autocannon) result, whether or not it can be merged. */
function isResultShaped(value: Record<string, unknown>): boolean {
  return isObject(value.requests) && isObject(value.latency) && typeof value.connections === 'number';
}

const COUNTS = ['connections', 'connected', 'held', 'workers', 'duration', 'errors', 'refused', 'handshakeFailures', 'resets', 'timeouts', 'mismatches'] as const;

/** Everything a merge reads is there and of its type; says what is not, and where. */
function checkResult(value: Record<string, unknown>, where: string): LoadResult {
  const fail = (why: string) => new MergeInputError(`${where}: ${why}`);
  const histograms = value.histograms;
  if (!isObject(histograms)) throw fail('an echo-load result without histograms (from an older echo-load?) cannot be merged exactly');
  for (const timing of ['latency', 'connect', 'firstEcho', ...(histograms.handshake === undefined ? [] : ['handshake'])]) {
    checkHistogram(histograms[timing], `histograms.${timing}`, fail);
  }
  for (const key of COUNTS) {
    if (typeof value[key] !== 'number') throw fail(`'${key}' is missing or not a number`);
  }
  const requests = value.requests as Record<string, unknown>;
  const throughput = value.throughput;
  if (typeof requests.total !== 'number' || typeof requests.sent !== 'number') throw fail("'requests.total' or 'requests.sent' is missing");
  if (!isObject(throughput) || typeof throughput.total !== 'number') throw fail("'throughput.total' is missing");
  if (!isObject(value.series) || !isNumbers(value.series.messages) || !isNumbers(value.series.bytes)) throw fail("'series' is missing");
  if (!Array.isArray(value.targets)) throw fail("'targets' is missing");
  if (value.intervals !== undefined) checkIntervals(value, fail);
  value.targets.forEach((target: unknown, i) => {
    if (!isObject(target) || typeof target.target !== 'string' || !isObject(target.histograms)) throw fail(`targets[${i}] is not a target`);
    for (const key of ['connections', 'connected', 'held', 'messages', 'errors']) {
      if (typeof target[key] !== 'number') throw fail(`targets[${i}].${key} is missing or not a number`);
    }
    checkHistogram(target.histograms.latency, `targets[${i}].histograms.latency`, fail);
  });
  if (histograms.reconnect !== undefined) checkHistogram(histograms.reconnect, 'histograms.reconnect', fail);
  return { ...SHAPELESS, ...PORTLESS, expectHeld: value.connections, ...value } as unknown as LoadResult;
}

/**
 * What a result from before port exhaustion was a failure kind of its own means by the key's
 * absence: none of that kind (its failures were counted as other errors, in `errors`).
 */
const PORTLESS = { portsExhausted: 0 };

/** What a result from before the load shapes (stages, lifetimes, idle, reconnects) means by their absence. */
const SHAPELESS = { closed: 0, disrupted: 0, reconnects: 0, unechoedBytes: 0, idle: { connections: 0, held: 0 }, arrivalRate: 0, reconnecting: false };

const INTERVAL_COUNTS = ['start', 'duration', ...INTERVAL_COUNT_NAMES] as const;

/** `intervals`, when a result has them: an interval length and, each, the counts and histogram a merge adds. */
function checkIntervals(value: Record<string, unknown>, fail: (why: string) => Error): void {
  if (!Array.isArray(value.intervals)) throw fail("'intervals' is not a list");
  if (typeof value.intervalMs !== 'number' || value.intervalMs <= 0) throw fail("'intervalMs' is missing beside 'intervals'");
  value.intervals.forEach((interval: unknown, i) => {
    if (!isObject(interval) || !isObject(interval.failures) || !isObject(interval.histograms)) throw fail(`intervals[${i}] is not an interval`);
    for (const key of INTERVAL_COUNTS) {
      if (typeof interval[key] !== 'number') throw fail(`intervals[${i}].${key} is missing or not a number`);
    }
    checkHistogram(interval.histograms.latency, `intervals[${i}].histograms.latency`, fail);
  });
}

function checkHistogram(value: unknown, name: string, fail: (why: string) => Error): void {
  if (typeof value !== 'string') throw fail(`${name} is missing`);
  try {
    decodeHistogram(value);
  } catch (error) {
    throw fail(`${name} is not an encoded HdrHistogram (${(error as Error).message})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumbers(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'number');
}
