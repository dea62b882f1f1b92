import { OptionError, parseDuration, parseInteger } from '../../src/parse-option.js';
import { LOG_LEVELS } from '../../src/log.js';
import { parseSources } from './sources.js';
import { parseTargets, type Target } from './target.js';
import { parseThresholds, type Threshold } from '../verdict/threshold.js';
import { parseTlsOptions, type LoadTlsOptions, type RawTlsOptions } from './tls-options.js';
import { parseShape, peakClients, type LoadShape, type RawShapeOptions } from './shape.js';

/** A level `--log-level` accepts; derived from src/log.ts, the one place pino is used. */
type LogLevel = (typeof LOG_LEVELS)[number];

/** What a run needs, validated and typed: the CLI builds it, the runner consumes it. */
export interface LoadOptions {
  /** The first target's host and port (the only ones without `--target`). */
  host: string;
  port: number;
  /** Every target, in order: connection `i` goes to `targets[i % targets.length]`. */
  targets: Target[];
  /** Local addresses to connect from, all of one family: connection `i` from `sources[i % sources.length]`; empty = the kernel chooses. */
  sources: string[];
  /** `--threshold` criteria, checked against the result. */
  thresholds: Threshold[];
  /** Connections to open and hold; under `--stages` the most held at once; 0 under `--arrival-rate`. */
  clients: number;
  /** Worker threads, 1..clients (any number under `--arrival-rate`). */
  workers: number;
  /** How connections come and go: stages, arrivals, lifetimes, the idle pool, reconnects. */
  shape: LoadShape;
  /** Length of the measured window; unused when `messages` is set. Under `--stages`, the stages' total less the warm-up. */
  durationMs: number;
  /** Total messages over all connections (as autocannon's `--amount`), or undefined to run for `durationMs`. */
  messages: number | undefined;
  /** The bytes of one message; the server must echo them upper-cased. */
  payload: Uint8Array;
  /** Messages in flight per connection. */
  pipeline: number;
  /** Messages per second per connection; 0 = as fast as the echoes come back. */
  rate: number;
  /** Connections opened per second over all workers; 0 = all at once. */
  connectRate: number;
  /** 0 = wait forever. */
  connectTimeoutMs: number;
  /** An echo not complete within this counts as a timeout; 0 = never. */
  timeoutMs: number;
  /** Traffic before the measured window, excluded from every figure but connection set-up (`connect`, `firstEcho`). */
  warmupMs: number;
  /** Length of the intervals the run is also recorded in (`--interval`), a whole number of ms. */
  intervalLengthMs: number;
  /** Where each interval goes as a JSON line as soon as it ends: a file, `-` (stdout), or undefined (nowhere). */
  timeseries: string | undefined;
  /** The over-time view in the report even when stdout is not a terminal. */
  overTime: boolean;
  /** TLS client settings; undefined = plain TCP. */
  tls: LoadTlsOptions | undefined;
  /** The PROXY protocol version of the header each connection sends first; 0 = none. */
  proxyProtocol: 0 | 1 | 2;
  json: boolean;
  /** Also write the JSON result to this file (the report still goes to stdout); undefined = no file. */
  jsonFile: string | undefined;
  progress: boolean;
  logLevel: LogLevel;
}

/** Options as commander hands them over: strings, unset when not given. */
export interface RawOptions extends RawTlsOptions, RawShapeOptions {
  host?: string;
  port?: string;
  /** Each `--target` value, in order. */
  target?: string[];
  /** Each `--source` value, in order. */
  source?: string[];
  threshold?: string[];
  clients?: string;
  workers?: string;
  duration?: string;
  messages?: string;
  size?: string;
  payload?: string;
  pipeline?: string;
  rate?: string;
  connectRate?: string;
  connectTimeout?: string;
  timeout?: string;
  warmup?: string;
  interval?: string;
  timeseries?: string;
  overTime?: boolean;
  proxyProtocol?: string;
  json?: boolean;
  jsonFile?: string;
  progress?: boolean;
  logLevel?: string;
}

/** Defaults, shown in `--help` and applied by `parseOptions`. */
export const DEFAULTS = {
  host: '127.0.0.1',
  port: '8090',
  clients: '10',
  duration: '10s',
  size: '64',
  pipeline: '1',
  connectTimeout: '10s',
  timeout: '10s',
  interval: '1s',
  logLevel: 'warn',
} as const;

/**
 * The most bytes one connection may have in flight (`--pipeline` x message size): each worker
 * builds a buffer of that size, so the product is capped before anything is allocated.
 */
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

/**
 * The shortest `--interval`: each interval costs every worker a histogram encoding and the
 * main thread a merge (and a line of JSON), and timers run a few ms late on a busy machine,
 * which is noise in an interval much shorter than this.
 */
export const MIN_INTERVAL_MS = 100;

/** `--proxy-protocol` values. */
const PROXY_VERSIONS = new Map<string, 0 | 1 | 2>([
  ['off', 0],
  ['v1', 1],
  ['v2', 2],
]);

/** Payloads are cut from the lower-case alphabet, so an echo that is not upper-cased shows. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Validates raw command-line values and applies defaults; throws `OptionError` (exit 2) on
 * anything it cannot use. `cores` is the default worker count.
 *
 * @example
 *   parseOptions({ clients: '500', duration: '5s' }, 2).workers // 2
 */
export function parseOptions(raw: RawOptions, cores: number): LoadOptions {
  const defaultHost = (raw.host ?? DEFAULTS.host).trim();
  if (defaultHost === '') throw new OptionError('invalid host: empty');
  const targets = parseTargets(raw.target ?? [], defaultHost, parseInteger(raw.port ?? DEFAULTS.port, 'port', 1, 65_535));
  const { host, port } = targets[0]!;
  const thresholds = parseThresholds(raw.threshold ?? []);
  const shape = parseShape(raw);
  checkShapeConflicts(raw, shape);
  const clients = shape.stages !== undefined ? peakClients(shape.stages) : shape.arrivalRate > 0 ? 0 : parseInteger(raw.clients ?? DEFAULTS.clients, 'clients', 1, 1_000_000);
  // More workers than connections would leave threads with nothing to do; arrivals have no count.
  const workersAsked = raw.workers === undefined ? cores : parseInteger(raw.workers, 'workers', 1, 1024);
  const workers = shape.arrivalRate > 0 ? workersAsked : Math.min(workersAsked, clients);
  if (raw.duration !== undefined && raw.messages !== undefined) {
    throw new OptionError('use either --duration or --messages, not both');
  }
  const messages = raw.messages === undefined ? undefined : parseInteger(raw.messages, 'messages', 1);
  const warmupMs = raw.warmup === undefined ? 0 : parseDuration(raw.warmup, 'warmup');
  if (messages !== undefined && warmupMs > 0) {
    // An exact message count cannot also leave some messages out of the figures.
    throw new OptionError('--warmup cannot be combined with --messages (every message counts)');
  }
  const stagesMs = shape.stages?.reduce((total, stage) => total + stage.durationMs, 0);
  if (stagesMs !== undefined && warmupMs >= stagesMs) throw new OptionError(`--warmup ${raw.warmup} is as long as the stages (${stagesMs} ms): nothing would be measured`);
  const durationMs = stagesMs !== undefined ? stagesMs - warmupMs : parseDuration(raw.duration ?? DEFAULTS.duration, 'duration');
  if (durationMs <= 0) throw new OptionError(`invalid duration '${raw.duration}': must be more than 0`);
  if (raw.size !== undefined && raw.payload !== undefined) {
    throw new OptionError('use either --size or --payload, not both');
  }
  const payload = raw.payload === undefined ? alphabetPayload(parseInteger(raw.size ?? DEFAULTS.size, 'size', 1, 16 * 1024 * 1024)) : Buffer.from(raw.payload, 'utf8');
  if (payload.length === 0) throw new OptionError('invalid payload: empty');
  const pipeline = parseInteger(raw.pipeline ?? DEFAULTS.pipeline, 'pipeline', 1, 65_536);
  if (pipeline * payload.length > MAX_IN_FLIGHT_BYTES) {
    const message = raw.payload === undefined ? `--size ${payload.length}` : `--payload of ${payload.length} B`;
    throw new OptionError(`--pipeline ${pipeline} x ${message} is more than the 64 MiB a connection may have in flight`);
  }
  const proxyProtocol = PROXY_VERSIONS.get(raw.proxyProtocol ?? 'off');
  if (proxyProtocol === undefined) throw new OptionError(`invalid proxy-protocol '${raw.proxyProtocol}': use v1 or v2 (or off)`);
  const logLevel = raw.logLevel ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new OptionError(`invalid log-level '${logLevel}': use one of ${LOG_LEVELS.join(', ')}`);
  }
  const intervalLengthMs = parseDuration(raw.interval ?? DEFAULTS.interval, 'interval');
  if (intervalLengthMs < MIN_INTERVAL_MS) throw new OptionError(`invalid interval '${raw.interval}': must be at least ${MIN_INTERVAL_MS}ms`);
  const tls = parseTlsOptions(raw, host);
  // Several targets and no --servername: each target names itself (the worker falls back to
  // its own host when it is a name), not all of them the first one.
  if (tls !== undefined && targets.length > 1 && raw.servername === undefined) tls.servername = undefined;
  return {
    host,
    port,
    targets,
    sources: parseSources(raw.source ?? []),
    thresholds,
    clients,
    workers,
    shape,
    durationMs,
    messages,
    payload,
    pipeline,
    rate: raw.rate === undefined ? 0 : parseInteger(raw.rate, 'rate', 1, 10_000_000),
    connectRate: raw.connectRate === undefined ? 0 : parseInteger(raw.connectRate, 'connect-rate', 1, 10_000_000),
    connectTimeoutMs: parseDuration(raw.connectTimeout ?? DEFAULTS.connectTimeout, 'connect-timeout'),
    timeoutMs: parseDuration(raw.timeout ?? DEFAULTS.timeout, 'timeout'),
    warmupMs,
    intervalLengthMs,
    timeseries: raw.timeseries === undefined || raw.timeseries === '' ? undefined : raw.timeseries,
    overTime: raw.overTime === true,
    tls,
    proxyProtocol,
    // `--timeseries -` makes stdout JSON lines: the intervals, then the result as --json prints it.
    json: raw.json === true || raw.timeseries === '-',
    jsonFile: raw.jsonFile === undefined || raw.jsonFile === '' ? undefined : raw.jsonFile,
    progress: raw.progress !== false,
    logLevel: logLevel as LogLevel,
  };
}

/**
 * What a shape replaces: the stages give the held count and the run's length, an arrival rate
 * gives the connects and leaves no count to hold; neither has a message total.
 */
function checkShapeConflicts(raw: RawOptions, shape: LoadShape): void {
  const given = (name: string, value: unknown) => (value === undefined ? [] : [name]);
  const conflicts = (shapeName: string, others: string[]) => {
    if (others.length > 0) throw new OptionError(`${shapeName} cannot be combined with ${others.join(', ')}: it sets ${shapeName === '--stages' ? 'the connections and the duration' : 'when connections start'} itself`);
  };
  if (shape.stages !== undefined) {
    conflicts('--stages', [...given('--clients', raw.clients), ...given('--duration', raw.duration), ...given('--messages', raw.messages), ...given('--connect-rate', raw.connectRate), ...given('--arrival-rate', raw.arrivalRate)]);
  }
  if (shape.arrivalRate > 0) {
    conflicts('--arrival-rate', [...given('--clients', raw.clients), ...given('--messages', raw.messages), ...given('--connect-rate', raw.connectRate)]);
  }
}

/** `size` bytes of `abc...zabc...`: lower-case, so the echo must differ from what was sent. */
function alphabetPayload(size: number): Buffer {
  const payload = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) payload[i] = ALPHABET.charCodeAt(i % ALPHABET.length);
  return payload;
}
