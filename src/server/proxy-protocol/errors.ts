/** Why a connection's PROXY header was refused: the reasons the server counts. */
export const PROXY_HEADER_FAILURES = ['missing', 'malformed', 'unsupported', 'timeout', 'untrusted'] as const;

/**
 * - `missing`: the bytes do not start like a header of the allowed versions (a client that
 *   speaks first without one, or the other version);
 * - `malformed`: they did, then broke the specification;
 * - `unsupported`: a valid header this parser does not handle (a v2 version other than 2);
 * - `timeout`: the header did not arrive in time (the server's, not the parser's);
 * - `untrusted`: the peer may not send a header (the server's `--proxy-protocol-from`).
 */
export type ProxyHeaderFailure = (typeof PROXY_HEADER_FAILURES)[number];

/**
 * A PROXY header that cannot be accepted. `code` is stable; `reason` says which failure it is;
 * `message` is one line for a log, naming the version and the byte or field at fault.
 *
 * @example
 *   try { parseProxyHeader(bytes, 'v2'); } catch (error) {
 *     if (error instanceof ProxyHeaderError) stats.proxyHeaderFailures[error.reason]++;
 *   }
 */
export class ProxyHeaderError extends Error {
  readonly code = 'EPROXYHEADER';
  constructor(
    readonly reason: ProxyHeaderFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/** A v1 line that broke the specification at byte `p`. */
export function v1Error(p: number, what: string): ProxyHeaderError {
  return new ProxyHeaderError('malformed', `PROXY v1: ${what} at byte ${p}`);
}

/** A v2 header that broke the specification. */
export function v2Error(what: string): ProxyHeaderError {
  return new ProxyHeaderError('malformed', `PROXY v2: ${what}`);
}

/** A byte as two hex digits, for messages. */
export function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
