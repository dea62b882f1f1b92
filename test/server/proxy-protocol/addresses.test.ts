import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildV2, nodeIpv6, normalizeIpv6 } from '../../support/proxy-headers.js';
import { parsed, text } from './support/outcomes.js';

/** Addresses written as Node writes a socket's (src/server/proxy-protocol/addresses.ts). */

describe('the PROXY header parser, with the specification’s examples', () => {
  it('writes addresses as Node writes a socket’s address, however the sender wrote them', () => {
    const cases = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
      ['::FFFF:127.0.0.1', '::ffff:127.0.0.1'],
      ['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['::1.2.3.4', '::1.2.3.4'],
    ];
    for (const [sent, shown] of cases) {
      expect(normalizeIpv6(sent!)).toBe(shown);
      expect(parsed(text(`PROXY TCP6 ${sent} ::1 1 2\r\n`)).source!.address).toBe(shown);
    }
  });
});

describe('the PROXY header parser, fuzzed', () => {
  it('writes every IPv6 address in a v2 header as Node does', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 16, maxLength: 16 }), (groups) => {
        const block = Buffer.alloc(36);
        groups.forEach((g, i) => block.writeUInt16BE(g, 2 * i));
        const header = parsed(buildV2(1, 0x21, block, []));
        expect(header.source!.address).toBe(nodeIpv6(groups.slice(0, 8)));
        expect(header.destination!.address).toBe(nodeIpv6(groups.slice(8)));
      }),
      { numRuns: 2000 },
    );
  });
});
