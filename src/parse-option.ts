import { isIP } from 'node:net';

/** Parsing of command-line values shared by both programs: durations, whole numbers, and the error they throw. */
/** A command-line value that could not be understood; the CLI prints `message` and exits 2. */
export class OptionError extends Error {
  readonly code = 'EOPTION';
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `500ms`, `5s`, `1.5m` or `1h` into milliseconds. A bare number
 * means milliseconds. `0` is allowed (it usually means "never").
 *
 * @example
 *   parseDuration('5s') // 5000
 */
export function parseDuration(text: string, optionName = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) {
    throw new OptionError(`${optionName} must be a duration such as 500ms, 5s or 1m (got '${text}')`);
  }
  const ms = Number(match[1]) * UNITS[match[2] ?? 'ms']!;
  if (!Number.isFinite(ms) || ms > 2_147_483_647) {
    throw new OptionError(`${optionName} is too long (got '${text}', at most 24 days)`);
  }
  return Math.round(ms);
}

/**
 * Writes milliseconds the way `parseDuration` reads them, in the largest unit that is exact.
 *
 * @example
 *   formatDuration(5000) // '5s'
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of Object.entries(UNITS).reverse()) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Parses a whole number within [min, max], for counts, ports and sizes. */
export function parseInteger(text: string, optionName: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new OptionError(`${optionName} must be a whole number ${range} (got '${text}')`);
  }
  return value;
}

/** One entry of a subnet list such as `10.0.0.0/8,::1`: an address with a prefix length. */
export interface Subnet {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses a comma-separated list of addresses and CIDR subnets (`10.0.0.0/8,127.0.0.1,::1/128`);
 * an address without a prefix is a single host.
 *
 * @example
 *   parseSubnets('10.0.0.0/8,::1', 'proxy-protocol-from')
 *   // [{ address: '10.0.0.0', prefix: 8, family: 'ipv4' }, { address: '::1', prefix: 128, family: 'ipv6' }]
 */
export function parseSubnets(text: string, optionName: string): Subnet[] {
  return text.split(',').map((entry) => {
    const [address = '', prefixText, ...rest] = entry.trim().split('/');
    const family = isIP(address) === 4 ? 'ipv4' : isIP(address) === 6 ? 'ipv6' : undefined;
    const max = family === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (family === undefined || rest.length > 0 || (prefixText !== undefined && !/^\d+$/.test(prefixText)) || !(prefix >= 0 && prefix <= max)) {
      throw new OptionError(`${optionName} must be addresses or subnets such as 10.0.0.0/8,::1 (got '${entry.trim()}')`);
    }
    return { address, prefix, family };
  });
}
