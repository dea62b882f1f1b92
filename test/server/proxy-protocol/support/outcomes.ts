/** What the parser's tests share: its outcome as a value, refusal at a byte, and near misses of valid headers. */
import { expect } from 'vitest';
import fc from 'fast-check';
import { INCOMPLETE, parseProxyHeader, PROXY_HEADER_FAILURES, ProxyHeaderError, type ProxyHeader, type ProxyHeaderFailure, type ProxyProtocolMode } from '../../../../src/server/proxy-protocol/index.js';

export const MODES: ProxyProtocolMode[] = ['v1', 'v2', 'any'];

/** What parsing gives, as a value: the header, INCOMPLETE, or the failure's reason; anything else thrown fails the test. */
export type Outcome = ProxyHeader | typeof INCOMPLETE | { failed: ProxyHeaderFailure; message: string };

export function outcome(bytes: Uint8Array, mode: ProxyProtocolMode = 'any'): Outcome {
  try {
    return parseProxyHeader(bytes, mode);
  } catch (error) {
    if (!(error instanceof ProxyHeaderError)) throw error;
    expect(error.code).toBe('EPROXYHEADER');
    expect(PROXY_HEADER_FAILURES).toContain(error.reason);
    return { failed: error.reason, message: error.message };
  }
}

export function failure(bytes: Uint8Array, mode: ProxyProtocolMode = 'any'): ProxyHeaderFailure {
  const result = outcome(bytes, mode);
  if (result === INCOMPLETE || !('failed' in result)) throw new Error(`expected a failure, got ${result === INCOMPLETE ? 'INCOMPLETE' : 'a header'}`);
  return result.failed;
}

export function parsed(bytes: Uint8Array, mode: ProxyProtocolMode = 'any'): ProxyHeader {
  const result = parseProxyHeader(bytes, mode);
  if (result === INCOMPLETE) throw new Error('expected a header, got INCOMPLETE');
  return result;
}

/**
 * `bytes` is refused at byte `at` and not before: every shorter prefix is INCOMPLETE, the
 * prefix that ends with byte `at` fails with `reason`, and so does everything longer.
 */
export function expectRefusedAt(bytes: Uint8Array, at: number, reason: ProxyHeaderFailure, mode: ProxyProtocolMode = 'any'): void {
  for (let k = 0; k <= at; k++) expect(parseProxyHeader(bytes.subarray(0, k), mode), `prefix of ${k} bytes`).toBe(INCOMPLETE);
  expect(failure(bytes.subarray(0, at + 1), mode)).toBe(reason);
  expect(failure(bytes, mode)).toBe(reason);
}

export const text = (s: string) => Buffer.from(s, 'latin1');
export const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Valid headers with a few bytes changed, inserted or cut: near misses that reach deep into the parser. */
export const nearMiss = (headers: fc.Arbitrary<{ bytes: Buffer }>) =>
  fc
    .tuple(headers, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 3 }), fc.nat())
    .map(([{ bytes }, edits, cut]) => {
      const out = [...bytes];
      for (const [where, value, how] of edits) {
        const at = where % (out.length + 1);
        if (how === 'set' && at < out.length) out[at] = value;
        else if (how === 'insert') out.splice(at, 0, value);
        else out.splice(at, 1);
      }
      return Uint8Array.from(out.slice(0, out.length - (cut % 4)));
    });
