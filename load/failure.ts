import type { FailureKind } from './failure-kind.js';

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

const PHRASES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'broken pipe',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'no local address or port available',
  EMFILE: 'too many open files',
};

/**
 * Sorts a socket error into the report's categories: refused (connect failed), reset
 * (ECONNRESET/EPIPE once connected), timeout, or other; and words it for the report.
 *
 * @example
 *   classifySocketError({ code: 'ECONNREFUSED', message: '...' }, true, 3)
 *   // { kind: 'refused', text: 'connection refused (ECONNREFUSED), connection 3' }
 */
export function classifySocketError(error: NodeJS.ErrnoException, connecting: boolean, index: number): { kind: FailureKind; text: string } {
  const code = error.code ?? 'ERROR';
  const text = `${PHRASES[code] ?? error.message} (${code}), connection ${index}`;
  if (code === 'ETIMEDOUT') return { kind: 'timeout', text };
  if (connecting) return { kind: code === 'ECONNREFUSED' ? 'refused' : 'error', text };
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
