import type { FailureKind } from './failure-kind.js';

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * No local port to connect from: connect() found no free port for the source and destination
 * (EADDRNOTAVAIL), or, with `--source`, bind() found none free on that address (EADDRINUSE:
 * libuv defers a bind's EADDRINUSE to the connect, so it arrives as a connect error).
 */
const PORT_CODES = new Set(['EADDRNOTAVAIL', 'EADDRINUSE']);

const PHRASES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'broken pipe',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'no free local port, or the source address is not local',
  EADDRINUSE: 'no free local port on the source address',
  EMFILE: 'too many open files',
};

/**
 * Sorts a socket error into the report's categories: refused (connect failed), out of local
 * ports (connect or bind found no free port), reset (ECONNRESET/EPIPE once connected), timeout,
 * or other; and words it for the report.
 *
 * @example
 *   classifySocketError({ code: 'ECONNREFUSED', message: '...' }, true, 3)
 *   // { kind: 'refused', text: 'connection refused (ECONNREFUSED), connection 3' }
 */
export function classifySocketError(error: NodeJS.ErrnoException, connecting: boolean, index: number): { kind: FailureKind; text: string } {
  const code = error.code ?? 'ERROR';
  const text = `${PHRASES[code] ?? error.message} (${code}), connection ${index}`;
  if (code === 'ETIMEDOUT') return { kind: 'timeout', text };
  if (connecting) return { kind: code === 'ECONNREFUSED' ? 'refused' : PORT_CODES.has(code) ? 'portsExhausted' : 'error', text };
  return { kind: RESET_CODES.has(code) ? 'reset' : 'error', text };
}

/**
 * Words the first difference between a read and the expected echo: where it is on the
 * connection, what was expected and what came, or that more came than was sent.
 *
 * @param read the bytes received; `expected` the expected bytes at the same position
 * @param outstanding how many bytes were still due when the read arrived
 * @param position the connection's byte count before this read
 */
export function describeMismatch(read: Uint8Array, expected: Uint8Array, outstanding: number, position: number, index: number): string {
  const limit = Math.min(read.length, outstanding);
  let i = 0;
  while (i < limit && read[i] === expected[i]) i++;
  const where = `connection ${index}, byte ${position + i}`;
  if (i < limit) return `${where}: expected ${describeByte(expected[i]!)}, got ${describeByte(read[i]!)}`;
  return `${where}: ${read.length - outstanding} bytes more than were sent`;
}

function describeByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return byte >= 0x20 && byte < 0x7f ? `${hex} '${String.fromCharCode(byte)}'` : hex;
}

/** Node's codes for a certificate the client could not verify (OpenSSL's X509_V_ERR_* names, and the host name check). */
const CERTIFICATE_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** An error from TLS itself (OpenSSL, or Node's certificate checks), not from the socket below it. */
export function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? '';
  return CERTIFICATE_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}

/**
 * Words a failed TLS handshake by its cause, for the report: a certificate error (the
 * server's did not verify, or the server refused ours: an alert naming a certificate), a
 * protocol mismatch (no common version, or the peer does not speak TLS at all), or the
 * connection closed during the handshake. (The fourth cause, a handshake timeout, is worded
 * where the timer fires.)
 *
 * @example
 *   describeHandshakeFailure({ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }, 3)
 *   // 'certificate error: certificate has expired (CERT_HAS_EXPIRED), connection 3'
 */
export function describeHandshakeFailure(error: NodeJS.ErrnoException & { reason?: string }, index: number): string {
  const code = error.code ?? 'ERROR';
  // OpenSSL's errors carry a short `reason` ('wrong version number') beside a long message.
  const detail = `${error.reason ?? error.message} (${code}), connection ${index}`;
  if (CERTIFICATE_CODES.has(code) || /CERT|_CA$|UNKNOWN_CA|ACCESS_DENIED/.test(code)) return `certificate error: ${detail}`;
  if (isTlsError(error) || code === 'EPROTO') return `protocol mismatch: ${detail}`;
  return `closed during the TLS handshake: ${PHRASES[code] ?? error.message} (${code}), connection ${index}`;
}
