import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { OptionError } from '../../src/parse-option.js';
import type { Target } from '../options/target.js';
import { LoadError } from './load-error.js';
import { firstReachable } from '../options/reachable.js';

/**
 * The address each target's connections go to, in order. One after the other: a target that
 * does not resolve is named (a `LoadError`) before anything starts. With `family` (that of the
 * `--source` addresses) only a target's addresses of that family count, so that `localhost`
 * is ::1 for an IPv6 source and 127.0.0.1 for an IPv4 one; a target with none, an address of
 * the other family included, is an `OptionError`, before anything starts.
 *
 * @example
 *   await resolveTargets([{ host: 'localhost', port: 8090, name: 'localhost:8090' }]) // ['127.0.0.1']
 */
export async function resolveTargets(targets: readonly Target[], family?: 4 | 6): Promise<string[]> {
  const addresses: string[] = [];
  for (const target of targets) addresses.push(await resolve(target, family));
  return addresses;
}

/**
 * Resolves the host once, so that 50,000 connections do not make 50,000 DNS lookups, to the
 * first of its addresses (of `family`, if given) where the server accepts connections.
 */
async function resolve(target: Target, family: 4 | 6 | undefined): Promise<string> {
  const host = target.host;
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
    throw new LoadError('EHOST', `cannot resolve host '${host}' (${code})`);
  }
  if (family !== undefined) {
    const usable = addresses.filter((address) => isIP(address) === family);
    if (usable.length === 0) {
      const resolved = isIP(host) === 0 ? ` (${host} is ${addresses.join(', ')})` : '';
      throw new OptionError(`--source is IPv${family} but target ${target.name} has no IPv${family} address${resolved}: a connection's source must be of its target's family`);
    }
    addresses = usable;
  }
  return firstReachable(addresses, target.port);
}
