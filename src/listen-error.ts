import { formatAddress } from './address.js';

/** What a failed listen means, for a person: the system's code in words, with the way out. */
const PROBLEMS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use (is another server running?)',
  EADDRNOTAVAIL: 'address not available on this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name could not be resolved',
  EAFNOSUPPORT: 'address family not supported',
  EINVAL: 'invalid address',
};

/**
 * `host:port: problem`, the one way both listeners (echo and metrics) word a failed listen.
 * `hints` replace the wording of some codes where a listener has a better way out.
 *
 * @example
 *   describeListenFailure('::1', 8090, 'EADDRINUSE', 'listen EADDRINUSE ...')
 *   // '[::1]:8090: address already in use (is another server running?)'
 */
export function describeListenFailure(
  host: string,
  port: number,
  code: string | undefined,
  message: string,
  hints: Readonly<Record<string, string>> = {},
): string {
  const problem = (code === undefined ? undefined : (hints[code] ?? PROBLEMS[code])) ?? message;
  return `${formatAddress(host, port)}: ${problem}`;
}
