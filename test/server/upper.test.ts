import { describe, expect, it } from 'vitest';
import { upperInPlace } from '../../src/server/upper.js';

/** Python's bytes.upper(), byte by byte: the reference the kernel must match. */
const pythonUpper = (b: number) => (b >= 0x61 && b <= 0x7a ? b - 0x20 : b);

describe('upperInPlace', () => {
  it('maps every one of the 256 byte values like bytes.upper()', () => {
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    upperInPlace(all);
    for (let i = 0; i < 256; i++) expect(all[i], `byte ${i}`).toBe(pythonUpper(i));
  });

  it('is exact at every alignment and length, and touches nothing outside its view', () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let offset = 0; offset < 8; offset++) {
      for (let length = 0; length < 200; length++) {
        const whole = Buffer.alloc(offset + length + 8);
        for (let i = 0; i < whole.length; i++) whole[i] = random();
        const before = Buffer.from(whole);
        upperInPlace(whole.subarray(offset, offset + length));
        for (let i = 0; i < whole.length; i++) {
          const inside = i >= offset && i < offset + length;
          expect(whole[i]).toBe(inside ? pythonUpper(before[i]!) : before[i]);
        }
      }
    }
  });

  it('leaves UTF-8 multi-byte sequences intact however the text is split', () => {
    const text = 'héllo wörld, ǆ ß ı ﬁ Ω ω 😀 abc';
    const bytes = Buffer.from(text, 'utf8');
    const expected = Buffer.from(bytes.map(pythonUpper));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const copy = Buffer.from(bytes);
      upperInPlace(copy.subarray(0, cut));
      upperInPlace(copy.subarray(cut));
      expect(copy.equals(expected), `split at byte ${cut}`).toBe(true);
    }
    // Only ASCII letters changed: the non-ASCII characters decode as before.
    expect(expected.toString('utf8')).toBe('HéLLO WöRLD, ǆ ß ı ﬁ Ω ω 😀 ABC');
  });
});
