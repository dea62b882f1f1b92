import { lookup } from 'node:dns/promises';
import type { Target } from '../options/target.js';
import { LoadError } from './load-error.js';
import { firstReachable } from '../options/reachable.js';

/**
 * The address each target's connections go to, in order. One after the other: a target that
 * does not resolve is named (a `LoadError`) before anything starts.
 *
 * @example
 *   await resolveTargets([{ host: 'localhost', port: 8090, name: 'localhost:8090' }]) // ['127.0.0.1']
 */
export async function resolveTargets(targets: readonly Target[]): Promise<string[]> {
  const addresses: string[] = [];
  for (const target of targets) addresses.push(await resolve(target.host, target.port));
  return addresses;
}

/**
 * Resolves the host once, so that 50,000 connections do not make 50,000 DNS lookups, to the
 * first of its addresses where the server accepts connections.
 */
async function resolve(host: string, port: number): Promise<string> {
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
    throw new LoadError('EHOST', `cannot resolve host '${host}' (${code})`);
  }
  return firstReachable(addresses, port);
}
