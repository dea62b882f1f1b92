import { encodeHistogram, mergeHistograms, PERCENTILES, percentileKey, summarizeHistogram, type Histogram } from '../worker/histogram.js';
import type { LoadOptions } from '../options/options.js';
import type { Sample } from '../run/sampler.js';
import {
  failureCountFields,
  noFailures,
  totalFailures,
  FAILURE_KIND_NAMES,
  type FailureCountFields,
  type FailureKind,
  type FailureNotes,
} from './failure-kind.js';
import type { ThresholdResult } from '../verdict/threshold.js';
import type { ArrivalProcess, Lifetime, Stage } from '../options/shape.js';
import type { IntervalResult } from './intervals.js';
import { TIMINGS, type TallyCounts, type TargetCounts, type Timing } from '../worker/tally.js';

/** What one worker reports at the end (the `result` message without its tag). */
export interface WorkerResult {
  counts: TallyCounts;
  histograms: Record<Timing, string>;
  targets: TargetCounts[];
  notes: FailureNotes;
}

/**
 * The result's histograms: every distribution it reports, each HdrHistogram's standard
 * compressed encoding (base64) of values in microseconds, so that results of many processes
 * merge exactly (`echo-load merge`). `handshake` is there under `--tls` only, and `reconnect`
 * under `--reconnect` only, as their distributions are.
 */
export type EncodedHistograms = Record<Exclude<Timing, OptionalTiming>, string> & Partial<Record<OptionalTiming, string>>;

/** The timings a run has only when asked for: TLS handshakes, reconnects. */
export type OptionalTiming = 'handshake' | 'reconnect';

/** One target's share of the run: how evenly the connections and the traffic spread. */
export interface TargetResult {
  /** `host:port`, as given. */
  target: string;
  host: string;
  /** The address of `host` its connections went to. */
  address: string;
  port: number;
  /** Connections sent to it (round-robin: connection i to target i % targets). */
  connections: number;
  connected: number;
  held: number;
  /** Messages echoed in the measured window. */
  messages: number;
  /** Failed connections, whatever the kind. */
  errors: number;
  /** Its echo latency (ms), with `latency`'s keys. */
  latency: Distribution;
  histograms: { latency: string };
}

/** The counts a target's share is made of (summed over workers, or over merged results). */
export type TargetCountName = 'connections' | 'connected' | 'held' | 'messages' | 'errors';

/** One target's result from its identity, its summed counts and its latency histogram. */
export function targetResult(identity: Pick<TargetResult, 'target' | 'host' | 'address' | 'port'>, add: (name: TargetCountName) => number, latency: Histogram): TargetResult {
  return {
    ...identity,
    connections: add('connections'),
    connected: add('connected'),
    held: add('held'),
    messages: add('messages'),
    errors: add('errors'),
    latency: describeTiming(latency),
    histograms: { latency: encodeHistogram(latency) },
  };
}

/** autocannon's statistics object: `average`, `mean`, `stddev`, `min`, `max`, `p0_001` ... `p99_999`. */
export type Distribution = Record<string, number>;

/**
 * A run's result, shaped like autocannon's so that tools reading its JSON read this too:
 * `latency` (ms), `requests` (messages per second; `total` messages, `sent`), `throughput`
 * (bytes per second; `total` bytes), `duration` (s), and the failure counts (`refused`,
 * `handshakeFailures`, `resets`, `timeouts`, `mismatches`, one per keyed `FailureKind`, and
 * their total `errors`). Beside `latency`, with the same keys: `connect`, `handshake` (only
 * under `--tls`), `firstEcho` and `reconnect` (only under `--reconnect`) (ms), connection
 * set-up over the whole run (see `TIMINGS` in tally.ts).
 */
export interface LoadResult extends FailureCountFields, Record<Exclude<Timing, OptionalTiming>, Distribution> {
  /** The TLS handshakes, present under `--tls`. */
  handshake?: Distribution;
  /** Under `--reconnect`: from a disruption to the connection being up again. */
  reconnect?: Distribution;
  /** The first target's (the only one without `--target`); every target is in `targets`. */
  host: string;
  /** The address of `host` the connections went to. */
  address: string;
  port: number;
  /**
   * Connections asked for (autocannon's meaning): `--clients`; under `--stages` the most held
   * at once; under `--arrival-rate` the arrivals that came.
   */
  connections: number;
  /** Connections established at some point (every life of a client counts), and still healthy at the end. */
  connected: number;
  held: number;
  /** How many of `connections` the run meant to hold at its end (the rule that fails a run short of it); 0 when its shape fixes none. */
  expectHeld: number;
  /** Connections ended politely before the end: their lifetime was over, or a ramp went down. */
  closed: number;
  /** Under `--reconnect`: connections the server side broke, and how many were established again. */
  disrupted: number;
  reconnects: number;
  /** Bytes sent on the disrupted connections and never echoed. */
  unechoedBytes: number;
  /** `--idle`: connections held open and silent beside the active ones, and how many still were at the end. */
  idle: { connections: number; held: number };
  /** The shape of the load: `--stages`, `--arrival-rate` (connections/s; 0 = none) with `arrivals`, `--connection-lifetime`, `--reconnect`. */
  stages?: Stage[];
  arrivalRate: number;
  arrivals?: ArrivalProcess;
  connectionLifetime?: Lifetime;
  reconnecting: boolean;
  workers: number;
  pipelining: number;
  /** Messages/s per connection asked for; 0 = unlimited. */
  rate: number;
  /** Bytes per message. */
  size: number;
  /** Connections spoke TLS. */
  tls: boolean;
  /** The PROXY protocol header each connection sent first. */
  proxyProtocol: 'off' | 'v1' | 'v2';
  /** Seconds measured. */
  duration: number;
  /** Full one-second samples behind the spread of `requests` and `throughput`. */
  samples: number;
  sampleInt: number;
  start: string;
  finish: string;
  /** Failed connections of every kind: refused + resets + timeouts + mismatches + other errors. */
  errors: number;
  /** Stopped early (SIGINT): the figures cover what was measured until then. */
  interrupted: boolean;
  requests: Distribution;
  throughput: Distribution;
  /** The first failure of each kind, in words. */
  failures: FailureNotes;
  /** `echo-load merge` only: how many results were merged into this one. */
  merged?: number;
  /**
   * Beside autocannon's keys (optional only so that a result written by hand may leave them
   * out; echo-load always prints them): every target's share, the per-second samples behind
   * `requests` and `throughput`, the `--threshold` outcomes, and the encoded histograms.
   */
  targets?: TargetResult[];
  series?: Series;
  /** The length of the intervals (ms), and the run in them, in time order (see intervals.ts). */
  intervalMs?: number;
  intervals?: IntervalResult[];
  thresholds?: ThresholdResult[];
  histograms?: EncodedHistograms;
}

/** The measured window's per-second rates, in order: what `samples` counts and `requests`/`throughput` spread over. */
export interface Series {
  messages: number[];
  bytes: number[];
}

export interface ResultInput {
  options: LoadOptions;
  /** The address each target's host resolved to and the run connected to, in `options.targets` order. */
  addresses: readonly string[];
  workers: readonly WorkerResult[];
  /** The run's intervals, summed over the workers, in time order. */
  intervals: IntervalResult[];
  samples: readonly Sample[];
  durationMs: number;
  start: Date;
  finish: Date;
  interrupted: boolean;
}

/** Merges the workers' reports into one result. */
export function buildResult(input: ResultInput): LoadResult {
  const { options, workers } = input;
  const sum = (key: Exclude<keyof TallyCounts, 'failed'>) => workers.reduce((total, worker) => total + worker.counts[key], 0);
  const failed = noFailures();
  const failures: FailureNotes = {};
  for (const worker of workers) {
    for (const kind of FAILURE_KIND_NAMES) failed[kind] += worker.counts.failed[kind];
    for (const [kind, note] of Object.entries(worker.notes)) failures[kind as FailureKind] ??= note;
  }
  const timings = {} as Record<Timing, Distribution>;
  const histograms = {} as Record<Timing, string>;
  for (const timing of TIMINGS) {
    const histogram = mergeHistograms(workers.map((worker) => worker.histograms[timing]));
    timings[timing] = describeTiming(histogram);
    histograms[timing] = encodeHistogram(histogram);
  }
  const targets = options.targets.map((target, i): TargetResult => {
    const parts = workers.map((worker) => worker.targets[i]!);
    const add = (key: TargetCountName) => parts.reduce((total, part) => total + part[key], 0);
    const latency = mergeHistograms(parts.map((part) => part.latency));
    return targetResult({ target: target.name, host: target.host, address: input.addresses[i]!, port: target.port }, add, latency);
  });
  const seconds = input.durationMs / 1000;
  const messages = sum('messages');
  const bytes = sum('bytes');
  const tls = options.tls !== undefined;
  const { shape } = options;
  const arrivals = shape.arrivalRate > 0;
  return {
    host: options.host,
    address: input.addresses[0]!,
    port: options.port,
    connections: arrivals ? targets.reduce((total, target) => total + target.connections, 0) : options.clients,
    connected: sum('connected'),
    held: sum('held'),
    workers: options.workers,
    pipelining: options.pipeline,
    rate: options.rate,
    size: options.payload.length,
    tls: options.tls !== undefined,
    proxyProtocol: options.proxyProtocol === 0 ? 'off' : `v${options.proxyProtocol}`,
    duration: Math.round(seconds * 1000) / 1000,
    samples: input.samples.length,
    sampleInt: 1000,
    start: input.start.toISOString(),
    finish: input.finish.toISOString(),
    errors: totalFailures(failed),
    ...failureCountFields(failed),
    interrupted: input.interrupted,
    latency: timings.latency,
    connect: timings.connect,
    ...(tls && { handshake: timings.handshake }),
    firstEcho: timings.firstEcho,
    ...(shape.reconnect && { reconnect: timings.reconnect }),
    requests: { ...describeRates(input.samples.map((s) => s.messages), messages, seconds), total: messages, sent: sum('sent') },
    throughput: { ...describeRates(input.samples.map((s) => s.bytes), bytes, seconds), total: bytes },
    failures,
    // echo-load's own, after autocannon's keys: the shape of the load and what it did.
    ...shapeFields(options, sum),
    targets,
    series: { messages: input.samples.map((s) => s.messages), bytes: input.samples.map((s) => s.bytes) },
    intervalMs: options.intervalLengthMs,
    intervals: input.intervals,
    thresholds: [],
    histograms: {
      latency: histograms.latency,
      connect: histograms.connect,
      ...(tls && { handshake: histograms.handshake }),
      firstEcho: histograms.firstEcho,
      ...(shape.reconnect && { reconnect: histograms.reconnect }),
    },
  };
}

/** The result's keys about the shape of the load (`ShapeFields`), from the options and the workers' counts. */
function shapeFields(options: LoadOptions, sum: (key: Exclude<keyof TallyCounts, 'failed'>) => number): ShapeFields {
  const { shape } = options;
  return {
    expectHeld: expectHeld(options),
    closed: sum('closed'),
    disrupted: sum('disrupted'),
    reconnects: sum('reconnects'),
    unechoedBytes: sum('unechoedBytes'),
    idle: { connections: shape.idle, held: sum('idle') },
    ...(shape.stages !== undefined && { stages: shape.stages }),
    arrivalRate: shape.arrivalRate,
    ...(shape.arrivalRate > 0 && { arrivals: shape.arrivals }),
    ...(shape.lifetime !== undefined && { connectionLifetime: shape.lifetime }),
    reconnecting: shape.reconnect,
  };
}

/** The result's keys about the shape of the load: its settings, and what the connections did. */
export type ShapeFields = Pick<
  LoadResult,
  'expectHeld' | 'closed' | 'disrupted' | 'reconnects' | 'unechoedBytes' | 'idle' | 'stages' | 'arrivalRate' | 'arrivals' | 'connectionLifetime' | 'reconnecting'
>;

/**
 * The connections a run must still hold at its end, or it failed: every client of a held run,
 * the last stage's under `--stages`. None when lifetimes end connections (a successor may be
 * connecting at the end) or under `--arrival-rate`.
 */
function expectHeld(options: LoadOptions): number {
  const { shape } = options;
  if (shape.lifetime !== undefined || shape.arrivalRate > 0) return 0;
  return shape.stages === undefined ? options.clients : shape.stages.at(-1)!.clients;
}

/** A distribution as the result shows it: autocannon's statistics in ms, and how many samples. */
export function describeTiming(histogram: Histogram): Distribution {
  return { ...summarizeHistogram(histogram, 1000), totalCount: histogram.totalCount };
}

/**
 * Statistics of per-second samples. `average` (and `mean`) is the exact rate, total/duration;
 * the spread (stddev, min, max, percentiles) comes from the full-second samples. A run shorter
 * than a second has no samples: its one rate stands in for them.
 */
export function describeRates(samples: readonly number[], total: number, seconds: number): Distribution {
  const average = seconds > 0 ? Math.round((total / seconds) * 100) / 100 : 0;
  const values = [...(samples.length > 0 ? samples : seconds > 0 ? [average] : [])].sort((a, b) => a - b);
  const n = values.length;
  const mean = n === 0 ? 0 : values.reduce((a, b) => a + b, 0) / n;
  const variance = n === 0 ? 0 : values.reduce((acc, v) => acc + (v - mean) ** 2, 0) / n;
  const result: Distribution = {
    average,
    mean: average,
    stddev: Math.round(Math.sqrt(variance) * 100) / 100,
    min: n === 0 ? 0 : values[0]!,
    max: n === 0 ? 0 : values[n - 1]!,
  };
  for (const percentile of PERCENTILES) {
    // Nearest rank: the smallest sample with at least `percentile`% of samples at or below it.
    const rank = Math.min(n - 1, Math.max(0, Math.ceil((percentile / 100) * n) - 1));
    result[percentileKey(percentile)] = n === 0 ? 0 : values[rank]!;
  }
  return result;
}
