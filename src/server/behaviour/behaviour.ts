import { OptionError, parseDuration } from '../../parse-option.js';

/**
 * How a listener's connections misbehave on purpose (a backend that is slow, throttled, flaky
 * or rude on demand), and the banner that names the backend. Every field is off by default;
 * a listener with `NO_BEHAVIOUR` echoes exactly as the plain server does.
 *
 * The same names are the interface everywhere: `--delay` on the command line, `delay=` in a
 * `--listen` entry, `delay` in the behaviour file. `parseBehaviour` reads them all.
 */
export interface Behaviour {
  /** Each echo is held this long after its bytes were read (0: not held). */
  delayMs: number;
  /** A uniform spread of ±jitter around `delayMs`, never below 0 (0: none). */
  jitterMs: number;
  /** Each connection's echo is paced to this many bytes per second (0: unpaced). */
  bandwidth: number;
  /** After echoing exactly this many bytes, or this long after accept, the connection is closed politely. */
  closeAfter: After | undefined;
  /** The same, with a reset (RST) instead of a FIN. */
  resetAfter: After | undefined;
  /** The same, but the connection stops reading and echoing and stays open: a backend that hangs. */
  stallAfter: After | undefined;
  /** Each echo is written in pieces of at most this many bytes, each its own write (0: whole). */
  slice: number;
  /** The share of connections (chosen at accept) that get the faults above; the others are served normally. */
  faultRate: number;
  /** A first line sent on connect, from a template (`{host} {worker} {listener} {client}`); undefined: none. */
  banner: string | undefined;
}

/** A point in a connection's life: after this many bytes echoed, or this long after accept. */
export type After = { bytes: number } | { ms: number };

/** A listener that behaves: the plain echo, byte-exact. */
export const NO_BEHAVIOUR: Readonly<Behaviour> = Object.freeze({
  delayMs: 0,
  jitterMs: 0,
  bandwidth: 0,
  closeAfter: undefined,
  resetAfter: undefined,
  stallAfter: undefined,
  slice: 0,
  faultRate: 1,
  banner: undefined,
});

/** The names of the behaviours, as options (`--delay`), `--listen` keys and file keys. */
export const BEHAVIOUR_NAMES = ['delay', 'jitter', 'bandwidth', 'close-after', 'reset-after', 'stall-after', 'slice', 'fault-rate', 'banner'] as const;
export type BehaviourName = (typeof BEHAVIOUR_NAMES)[number];

/** The three ends of a connection: at most one applies. */
const STOPS = ['close-after', 'reset-after', 'stall-after'] as const;

/** What each name sets, and how its text is read (`name` is the option, for the error). */
const READERS: { [K in BehaviourName]: (text: string, name: string) => Partial<Behaviour> } = {
  delay: (text, name) => ({ delayMs: parseDuration(text, name) }),
  jitter: (text, name) => ({ jitterMs: parseDuration(text, name) }),
  bandwidth: (text, name) => ({ bandwidth: parseRate(text, name) }),
  'close-after': (text, name) => ({ closeAfter: parseAfter(text, name) }),
  'reset-after': (text, name) => ({ resetAfter: parseAfter(text, name) }),
  'stall-after': (text, name) => ({ stallAfter: parseAfter(text, name) }),
  slice: (text, name) => ({ slice: parseBytes(text, name, 1) }),
  'fault-rate': (text, name) => ({ faultRate: parseShare(text, name) }),
  banner: (text, name) => ({ banner: parseBanner(text, name) }),
};

/**
 * A behaviour from name/value pairs (missing names keep `base`'s value; one of close-after,
 * reset-after and stall-after replaces whichever `base` had). `where` prefixes each
 * error, e.g. `--listen 8091` or `behaviour file: listener plain`, so that one line names the
 * place and the problem.
 *
 * @example
 *   parseBehaviour({ delay: '100ms', 'fault-rate': '0.3' }, '--listen 8091')
 */
export function parseBehaviour(entries: Readonly<Record<string, string>>, where: string, base: Readonly<Behaviour> = NO_BEHAVIOUR): Behaviour {
  const behaviour: Behaviour = { ...base };
  const stops = STOPS.filter((name) => entries[name] !== undefined);
  if (stops.length > 1) throw new OptionError(`${where || 'behaviour'}: close-after, reset-after and stall-after exclude each other: give one`);
  // A connection ends one way: the one given here replaces the base's.
  if (stops.length === 1) Object.assign(behaviour, { closeAfter: undefined, resetAfter: undefined, stallAfter: undefined });
  for (const [name, text] of Object.entries(entries)) {
    if (!isBehaviourName(name)) throw new OptionError(`${where}: unknown behaviour '${name}' (known: ${BEHAVIOUR_NAMES.join(', ')})`);
    Object.assign(behaviour, READERS[name](text, where === '' ? name : `${where}: ${name}`));
  }
  if (behaviour.jitterMs > 0 && behaviour.delayMs === 0) throw new OptionError(`${where || 'behaviour'}: jitter spreads a delay: give delay too`);
  return behaviour;
}

/** Whether `name` is one of `BEHAVIOUR_NAMES`. */
export function isBehaviourName(name: string): name is BehaviourName {
  return (BEHAVIOUR_NAMES as readonly string[]).includes(name);
}

/** Whether any fault is configured (the banner is not a fault: it names the backend). */
export function hasFaults(behaviour: Readonly<Behaviour>): boolean {
  return (
    behaviour.delayMs > 0 ||
    behaviour.bandwidth > 0 ||
    behaviour.closeAfter !== undefined ||
    behaviour.resetAfter !== undefined ||
    behaviour.stallAfter !== undefined ||
    behaviour.slice > 0
  );
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 * 1024, gb: 1e9, gib: 1024 * 1024 * 1024 };

/** A byte count such as `1000`, `64KiB` or `1MB` (decimal and binary prefixes, case-insensitive). */
export function parseBytes(text: string, name: string, min = 0): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(text);
  const bytes = match === null ? NaN : Math.round(Number(match[1]) * BYTE_UNITS[(match[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes < min) {
    throw new OptionError(`${name} must be a byte count such as 1000, 64KiB or 1MB${min > 0 ? `, at least ${min}` : ''} (got '${text}')`);
  }
  return bytes;
}

/** Bytes per second: a byte count, optionally followed by `/s` (`1MB/s`, `65536`). */
function parseRate(text: string, name: string): number {
  return parseBytes(text.replace(/\/s\s*$/i, ''), name, 1);
}

/** `1000` or `64KiB`: bytes; `500ms`, `10s`, `1m`: a time since accept (a unit is required). */
export function parseAfter(text: string, name: string): After {
  if (/^\s*\d+(?:\.\d+)?\s*(ms|s|m|h)\s*$/.test(text)) return { ms: parseDuration(text, name) };
  if (/^\s*\d+(?:\.\d+)?\s*([kmg]i?b|b)?\s*$/i.test(text)) return { bytes: parseBytes(text, name) };
  throw new OptionError(`${name} must be a byte count (1000, 64KiB) or a duration with its unit (500ms, 10s) (got '${text}')`);
}

/** A share from 0 to 1 (`0.3`). */
function parseShare(text: string, name: string): number {
  const share = Number(text);
  if (!/^\s*\d*\.?\d+\s*$/.test(text) || !(share >= 0 && share <= 1)) throw new OptionError(`${name} must be a share from 0 to 1, such as 0.3 (got '${text}')`);
  return share;
}

/** The placeholders a banner may use. */
export const BANNER_FIELDS = ['host', 'worker', 'listener', 'client'] as const;

/** A banner template: one line, placeholders from `BANNER_FIELDS` only. */
function parseBanner(text: string, name: string): string {
  if (text === '' || /[\r\n]/.test(text)) throw new OptionError(`${name} must be one non-empty line (got ${JSON.stringify(text)})`);
  for (const [, field] of text.matchAll(/\{([^}]*)\}/g)) {
    if (!(BANNER_FIELDS as readonly string[]).includes(field!)) {
      throw new OptionError(`${name}: unknown placeholder {${field}} (known: ${BANNER_FIELDS.map((f) => `{${f}}`).join(' ')})`);
    }
  }
  return text;
}
