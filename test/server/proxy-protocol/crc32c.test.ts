import { describe, expect, it } from 'vitest';
import { INCOMPLETE, PP2_TYPE } from '../../../src/server/proxy-protocol/index.js';
import { buildV2, crc32c } from '../../support/proxy-headers.js';
import { hex, outcome, parsed, text } from './support/outcomes.js';

/** The CRC32C checksum of a v2 header (src/server/proxy-protocol/crc32c.ts). */

describe('the PROXY header parser, with the specification’s examples', () => {
  it('verifies a CRC32C checksum (the test’s own CRC32C gives the standard check value)', () => {
    expect(crc32c(text('123456789'))).toBe(0xe3069283);
    const good = buildV2(1, 0x11, hex('7f000001 7f000002 0001 0002'), [{ type: PP2_TYPE.UNIQUE_ID, value: text('abc') }], true);
    expect(parsed(good).length).toBe(good.length);
    for (let i = 0; i < good.length; i++) {
      // Any one changed byte outside the CRC32C TLV is caught by it, unless it breaks the header first.
      if (i >= good.length - 7) continue;
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x40;
      const result = outcome(bad);
      if (result !== INCOMPLETE && !('failed' in result)) throw new Error(`byte ${i} changed, still accepted`);
    }
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] = flipped.at(-1)! ^ 1;
    expect(outcome(flipped)).toMatchObject({ failed: 'malformed', message: expect.stringContaining('CRC32C') });
  });
});
