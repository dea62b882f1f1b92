import { describe, expect, it } from 'vitest';
import { buildPayloads, READ_BUFFER_SIZE, upperAscii } from '../../load/payload.js';

describe('payloads', () => {
  it('upper-cases ASCII letters only, like bytes.upper()', () => {
    const input = Buffer.from([0x61, 0x7a, 0x41, 0x60, 0x7b, 0x00, 0xff, ...Buffer.from('é')]);
    expect([...upperAscii(input)]).toEqual([0x41, 0x5a, 0x41, 0x60, 0x7b, 0x00, 0xff, ...Buffer.from('é')]);
  });

  it('expects the upper-cased message over and over, enough for any read at any offset', () => {
    const { message, burst, expected } = buildPayloads(Buffer.from('abc'), 4);
    expect(message.toString()).toBe('abc');
    expect(burst.toString()).toBe('abcabcabcabc');
    expect(expected.length).toBeGreaterThanOrEqual(3 + READ_BUFFER_SIZE);
    expect(expected.length % 3).toBe(0);
    expect(expected.subarray(0, 9).toString()).toBe('ABCABCABC');
    expect(expected.subarray(expected.length - 3).toString()).toBe('ABC');
  });
});
