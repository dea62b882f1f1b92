import { OptionError, parseDuration, parseInteger } from '../../src/parse-option.js';

/**
 * The shape of a run's load over time: how many connections, and how they come and go.
 * - held (the default): `--clients` connections, opened at once or at `--connect-rate`, held
 *   to the end;
 * - `--stages`: the held count follows a piecewise-linear ramp (as k6's stages);
 * - `--arrival-rate`: an open model, new connections at a rate whatever the server does.
 * `--connection-lifetime` (churn), `--idle` and `--reconnect` apply to every shape.
 */
export interface LoadShape {
  /** Undefined: the held count is `--clients` throughout. */
  stages: Stage[] | undefined;
  /** New connections per second over all workers (the open model); 0 = a closed model. */
  arrivalRate: number;
  /** How arrivals are spaced: evenly, or as a Poisson process (exponential gaps) of the same rate. */
  arrivals: ArrivalProcess;
  /** How long each connection lives before it closes politely; undefined = to the end. */
  lifetime: Lifetime | undefined;
  /** Connections held open and silent beside the active ones. */
  idle: number;
  /** A connection the server side breaks is counted as disrupted and opened again. */
  reconnect: boolean;
}

/** One `--stages` entry: over `durationMs`, the held count goes linearly to `clients`. */
export interface Stage {
  durationMs: number;
  clients: number;
}

/** A connection's life: that many echoes, or that long from established. */
export type Lifetime = { messages: number; ms?: undefined } | { ms: number; messages?: undefined };

export const ARRIVAL_PROCESSES = ['uniform', 'poisson'] as const;
export type ArrivalProcess = (typeof ARRIVAL_PROCESSES)[number];

/** The shape options as commander hands them over. */
export interface RawShapeOptions {
  stages?: string;
  arrivalRate?: string;
  arrivals?: string;
  connectionLifetime?: string;
  idle?: string;
  reconnect?: boolean;
}

/** At most this many stages: a ramp is a handful of them; more is a typo, or a file. */
const MAX_STAGES = 1000;

/**
 * Validates the shape options; throws `OptionError` (exit 2) on anything it cannot use. What
 * they conflict with (`--clients` and `--duration` with `--stages`, ...) is checked by
 * `parseOptions`, which sees them all.
 *
 * @example
 *   parseShape({ stages: '10s:100,20s:100,5s:0' }).stages // [{ durationMs: 10000, clients: 100 }, ...]
 */
export function parseShape(raw: RawShapeOptions): LoadShape {
  const arrivals = (raw.arrivals ?? 'uniform') as ArrivalProcess;
  if (!ARRIVAL_PROCESSES.includes(arrivals)) throw new OptionError(`invalid arrivals '${raw.arrivals}': use ${ARRIVAL_PROCESSES.join(' or ')}`);
  const arrivalRate = raw.arrivalRate === undefined ? 0 : parseRate(raw.arrivalRate);
  const lifetime = raw.connectionLifetime === undefined ? undefined : parseLifetime(raw.connectionLifetime);
  if (arrivalRate > 0 && lifetime === undefined) {
    throw new OptionError('--arrival-rate needs --connection-lifetime: how long each new connection lives (e.g. 100 messages, or 5s)');
  }
  return {
    stages: raw.stages === undefined ? undefined : parseStages(raw.stages),
    arrivalRate,
    arrivals,
    lifetime,
    idle: raw.idle === undefined ? 0 : parseInteger(raw.idle, 'idle', 0, 1_000_000),
    reconnect: raw.reconnect === true,
  };
}

/**
 * `--stages 30s:1000,1m:1000,10s:0`: comma-separated `duration:clients`, each a linear ramp from
 * the previous stage's clients (0 before the first) to its own over its duration.
 */
export function parseStages(text: string): Stage[] {
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_STAGES) throw new OptionError(`--stages has ${entries.length} stages: at most ${MAX_STAGES}`);
  const stages = entries.map((entry) => {
    const match = /^([^:]+):([^:]+)$/.exec(entry);
    if (match === null) throw new OptionError(`invalid stage '${entry}': use duration:clients, e.g. 30s:1000`);
    return { durationMs: parseDuration(match[1]!, `stage '${entry}' duration`), clients: parseInteger(match[2]!, `stage '${entry}' clients`, 0, 1_000_000) };
  });
  if (stages.every((stage) => stage.clients === 0)) throw new OptionError('--stages never has a client: give at least one stage more than 0 clients');
  const total = stages.reduce((sum, stage) => sum + stage.durationMs, 0);
  if (total === 0) throw new OptionError('--stages lasts 0 ms: give at least one stage a duration');
  return stages;
}

/** `100` (echoes) or `5s` (a duration, from established): the unit says which. */
export function parseLifetime(text: string): Lifetime {
  if (/^\s*\d+\s*$/.test(text)) return { messages: parseInteger(text, 'connection-lifetime', 1) };
  const ms = parseDuration(text, 'connection-lifetime');
  if (!/[a-z]\s*$/.test(text)) throw new OptionError(`connection-lifetime must be a number of echoes (100) or a duration with its unit (5s) (got '${text}')`);
  if (ms <= 0) throw new OptionError(`invalid connection-lifetime '${text}': must be more than 0`);
  return { ms };
}

/** `--arrival-rate`: connections per second, a positive number (fractions allowed: 0.5 = one every 2 s). */
function parseRate(text: string): number {
  const value = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(value > 0) || value > 1_000_000) {
    throw new OptionError(`arrival-rate must be connections per second, more than 0 and at most 1000000 (got '${text}')`);
  }
  return value;
}

/** The most clients the stages hold at once: how many connections the run must be ready for. */
export function peakClients(stages: readonly Stage[]): number {
  return Math.max(...stages.map((stage) => stage.clients));
}
