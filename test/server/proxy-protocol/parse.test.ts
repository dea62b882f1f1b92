import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { INCOMPLETE, parseProxyHeader, PP2_TYPE, type ProxyProtocolMode } from '../../../src/server/proxy-protocol/index.js';
import { anyHeader, buildV2, V2_SIGNATURE } from '../../support/proxy-headers.js';
import { expectRefusedAt, hex, MODES, outcome, type Outcome, parsed, text } from './support/outcomes.js';

/** Both versions through the one entry, `parseProxyHeader`: telling them apart, reading a header as it arrives, and fuzzing. */

describe('the PROXY header parser refuses a malformed header at the first byte that rules it out', () => {
  it('refuses the other version, by its first byte, when only one is allowed', () => {
    expectRefusedAt(text('PROXY TCP4 1.1.1.1 1.1.1.1 1 2\r\n'), 0, 'missing', 'v2');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a211100'), 0, 'missing', 'v1');
  });
});

describe('the PROXY header parser, fed byte by byte', () => {
  it('says INCOMPLETE for every prefix of a known header and gives the header at its last byte', () => {
    const headers = [
      text('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
      text('PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n'),
      text('PROXY UNKNOWN\r\n'),
      hex('0d0a0d0a000d0a515549540a 21 11 000c ac130001 ac130003 a652 0050'),
      buildV2(1, 0x21, Buffer.alloc(36, 1), [{ type: PP2_TYPE.AUTHORITY, value: text('example.com') }], true),
    ];
    for (const header of headers) {
      const stream = Buffer.concat([header, text('data')]);
      let received = 0;
      let result: ReturnType<typeof parseProxyHeader> = INCOMPLETE;
      while (result === INCOMPLETE) result = parseProxyHeader(stream.subarray(0, ++received), 'any');
      expect(received).toBe(header.length);
      expect(result.length).toBe(header.length);
      expect(stream.subarray(result.length).toString()).toBe('data');
    }
  });
});

describe('the PROXY header parser, fuzzed', () => {
  /** One outcome for every prefix of `bytes`: INCOMPLETE, then the same header or failure for good. */
  function expectSettlesOnce(bytes: Uint8Array, mode: ProxyProtocolMode): void {
    let settled: Exclude<Outcome, typeof INCOMPLETE> | undefined;
    for (let k = 0; k <= bytes.length; k++) {
      const result = outcome(bytes.subarray(0, k), mode);
      if (settled === undefined) {
        if (result !== INCOMPLETE) settled = result;
      } else if ('failed' in settled) {
        expect(result !== INCOMPLETE && 'failed' in result ? result.failed : result).toBe(settled.failed);
      } else {
        expect(result).toEqual(settled);
      }
    }
  }

  /** A header found in `bytes` took exactly its bytes: one byte fewer is INCOMPLETE, the data after it is not needed. */
  function expectExactLength(bytes: Uint8Array, mode: ProxyProtocolMode): void {
    const result = outcome(bytes, mode);
    if (result === INCOMPLETE || 'failed' in result) return;
    expect(result.length).toBeLessThanOrEqual(bytes.length);
    expect(parseProxyHeader(bytes.subarray(0, result.length), mode)).toEqual(result);
    expect(parseProxyHeader(bytes.subarray(0, result.length - 1), mode)).toBe(INCOMPLETE);
  }

  it('throws nothing but ProxyHeaderError for random bytes, in every mode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...MODES), (bytes, mode) => {
        outcome(bytes, mode);
        expectExactLength(bytes, mode);
      }),
      { numRuns: 2000 },
    );
  });

  it('settles once on random bytes that start like a header, and any header it finds is exact', () => {
    const start = fc.constantFrom(text('PROXY '), text('PROXY TCP4 '), text('PROXY TCP6 '), text('PROXY UNKNOWN'), V2_SIGNATURE, Buffer.concat([V2_SIGNATURE, hex('21')]));
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:. \r\n'.split('').map((c) => c.charCodeAt(0)), 0x00, 0x11, 0x21, 0xff);
    const tail = fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.array(alphabet, { maxLength: 120 }).map((a) => Uint8Array.from(a)));
    fc.assert(
      fc.property(start, tail, fc.constantFrom(...MODES), (head, rest, mode) => {
        const bytes = Buffer.concat([head, rest]);
        expectSettlesOnce(bytes, mode);
        expectExactLength(bytes, mode);
      }),
      { numRuns: 400 },
    );
  });

  it('parses valid headers of both versions, with random TLVs, to what they say, whatever data follows', () => {
    fc.assert(
      fc.property(anyHeader, fc.uint8Array({ maxLength: 64 }), ({ bytes, expected }, data) => {
        const mode = expected.version === 1 ? 'v1' : 'v2';
        for (const m of [mode, 'any'] as const) expect(parseProxyHeader(Buffer.concat([bytes, data]), m)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('says INCOMPLETE for every truncation of a valid header, and finds it whole wherever the stream is split', () => {
    fc.assert(
      fc.property(anyHeader, fc.uint8Array({ maxLength: 16 }), ({ bytes, expected }, data) => {
        for (let k = 0; k < bytes.length; k++) expect(parseProxyHeader(bytes.subarray(0, k), 'any')).toBe(INCOMPLETE);
        // A reader that appends each chunk and parses what it has: split in two at every position.
        const stream = Buffer.concat([bytes, data]);
        for (let split = 1; split < stream.length; split++) {
          const first = outcome(stream.subarray(0, split));
          if (first !== INCOMPLETE && 'failed' in first) throw new Error(`refused after ${split} bytes: ${first.message}`);
          const header = first === INCOMPLETE ? parsed(stream) : first;
          expect(header).toEqual(expected);
          expect(stream.subarray(header.length)).toEqual(Buffer.from(data));
        }
      }),
      { numRuns: 200 },
    );
  });
});
