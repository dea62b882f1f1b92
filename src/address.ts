/**
 * `host:port` as people and logs write it, with an IPv6 address in brackets.
 *
 * @example
 *   formatAddress('::1', 8090)       // '[::1]:8090'
 *   formatAddress('127.0.0.1', 8090) // '127.0.0.1:8090'
 */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
