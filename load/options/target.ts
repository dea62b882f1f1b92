import { isIP } from 'node:net';
import { formatAddress } from '../../src/address.js';
import { OptionError, parseInteger } from '../../src/parse-option.js';

/** One server echo-load drives: connection `i` of the run goes to target `i % targets`. */
export interface Target {
  host: string;
  port: number;
  /** `host:port` as the report and the JSON name it (IPv6 in brackets). */
  name: string;
}

/**
 * Parses the `--target` values. Each is `host:port`, `[v6]:port`, `host` (the port from
 * `--port`) or `:port` (the host from `--host`): `--host` and `--port` are the defaults for
 * the part a target leaves out, so `--host 10.0.0.5 --target :8090 --target :8091` drives two
 * ports of one machine. Without `--target` the one target is `--host`:`--port`. A value may
 * also hold several targets separated by commas (one environment variable for a pod). The
 * same target twice is an `OptionError`: its figures could not be told apart.
 *
 * @example
 *   parseTargets(['a:1', ':2'], 'h', 8090) // [{ host: 'a', port: 1, name: 'a:1' }, { host: 'h', port: 2, name: 'h:2' }]
 */
export function parseTargets(values: readonly string[], host: string, port: number): Target[] {
  const texts = values.flatMap((value) => value.split(',')).map((text) => text.trim());
  if (texts.length === 0) return [target(host, port)];
  const targets = texts.map((text) => parseTarget(text, host, port));
  const names = new Set<string>();
  for (const { name } of targets) {
    if (names.has(name)) throw new OptionError(`--target ${name} is given twice`);
    names.add(name);
  }
  return targets;
}

function parseTarget(text: string, defaultHost: string, defaultPort: number): Target {
  const bad = () => new OptionError(`invalid target '${text}': use host:port, [v6 address]:port, host or :port`);
  if (text === '') throw bad();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (isIP(host) !== 6) throw bad();
  } else if (text.indexOf(':') !== text.lastIndexOf(':')) {
    // Two colons or more without brackets: an IPv6 address without a port.
    if (isIP(text) !== 6) throw bad();
    host = text;
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  return target(host === '' ? defaultHost : host, portText === undefined ? defaultPort : parseInteger(portText, `port of target '${text}'`, 1, 65_535));
}

function target(host: string, port: number): Target {
  return { host, port, name: formatAddress(host, port) };
}
