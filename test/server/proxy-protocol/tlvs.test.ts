import { describe, expect, it } from 'vitest';
import { decodeProxyTlvs, INCOMPLETE, PP2_TYPE } from '../../../src/server/proxy-protocol/index.js';
import { buildV2 } from '../../support/proxy-headers.js';
import { expectRefusedAt, hex, outcome, parsed, text } from './support/outcomes.js';

/** A v2 header's TLVs, checked as they arrive and decoded (src/server/proxy-protocol/tlvs.ts). */

describe('the PROXY header parser, with the specification’s examples', () => {
  it('gives TLVs as raw bytes and decodes the registered ones: ALPN, authority, unique id, SSL, netns', () => {
    const ssl = Buffer.concat([
      hex('07 00000000'), // client: SSL | CERT_CONN | CERT_SESS; verify: 0 (verified)
      hex('21 0007'), text('TLSv1.3'),
      hex('22 000b'), text('example.com'),
      hex('23 0016'), text('TLS_AES_128_GCM_SHA256'),
      hex('24 000a'), text('RSA-SHA256'),
      hex('25 0007'), text('RSA2048'),
    ]); // prettier-ignore
    const tlvs = [
      { type: PP2_TYPE.ALPN, value: text('h2') },
      { type: PP2_TYPE.AUTHORITY, value: Buffer.from('échø.example', 'utf8') },
      { type: PP2_TYPE.UNIQUE_ID, value: Buffer.alloc(128, 7) },
      { type: PP2_TYPE.SSL, value: ssl },
      { type: PP2_TYPE.NETNS, value: text('blue') },
      { type: 0xe0, value: text('custom') },
    ];
    const header = parsed(buildV2(1, 0x11, hex('7f000001 7f000002 0001 0002'), tlvs, true));
    expect(header.tlvs.slice(0, -1)).toEqual(tlvs);
    expect(header.tlvs.at(-1)!.type).toBe(PP2_TYPE.CRC32C);
    const info = decodeProxyTlvs(header.tlvs);
    expect(info).toMatchObject({ alpn: text('h2'), authority: 'échø.example', uniqueId: Buffer.alloc(128, 7), netns: 'blue' });
    expect(info.crc32c).toBe(header.tlvs.at(-1)!.value.readUInt32BE(0));
    expect(info.ssl).toMatchObject({ client: 7, verify: 0, version: 'TLSv1.3', cn: 'example.com', cipher: 'TLS_AES_128_GCM_SHA256', sigAlg: 'RSA-SHA256', keyAlg: 'RSA2048' });
    expect(info.ssl!.tlvs.map((tlv) => tlv.type)).toEqual([0x21, 0x22, 0x23, 0x24, 0x25]);
  });

  it('copies TLV values out of the input, which may be a read buffer used again', () => {
    const bytes = buildV2(1, 0x11, hex('7f000001 7f000002 0001 0002'), [{ type: PP2_TYPE.AUTHORITY, value: text('example.com') }]);
    const header = parsed(bytes);
    bytes.fill(0);
    expect(decodeProxyTlvs(header.tlvs).authority).toBe('example.com');
  });
});

describe('the PROXY header parser refuses a malformed header at the first byte that rules it out', () => {
  it('refuses a TLV that runs past the header, or leaves too few bytes after it, at its length', () => {
    const block = '0d0a0d0a000d0a515549540a 21 11';
    const address = '7f000001 7f000001 0001 0002';
    // Length 12 + 3 + 2 = 17, but the TLV says 3 bytes of value.
    expectRefusedAt(hex(`${block} 0011 ${address} 04 0003 aabbcc`), 30, 'malformed');
    // A TLV of 0 bytes, then 2 bytes left: no room for the next TLV's type and length.
    expectRefusedAt(hex(`${block} 0011 ${address} 04 0000 0400`), 30, 'malformed');
  });

  it('refuses registered TLVs of the wrong size and a second checksum, as soon as the size is certain', () => {
    const block = '0d0a0d0a000d0a515549540a 21 11';
    const address = '7f000001 7f000001 0001 0002';
    // 6 bytes left: a CRC32C TLV takes 7, and an SSL TLV 8 (its 5 bytes and its own 3).
    expectRefusedAt(hex(`${block} 0012 ${address} 03 0003 000000`), 28, 'malformed');
    expectRefusedAt(hex(`${block} 0012 ${address} 20 0003 000000`), 28, 'malformed');
    // 9 and 10 bytes left: after a CRC32C TLV 2 or 3 bytes; 2 cannot be a TLV, 3 can.
    expectRefusedAt(hex(`${block} 0015 ${address} 03 0004 00000000 0400`), 28, 'malformed');
    expect(outcome(hex(`${block} 0016 ${address} 03`))).toBe(INCOMPLETE);
    // 10 and 11 bytes left: an SSL TLV of 5 leaves 2 (no TLV), of 6 or 7 has 1 or 2 sub-TLV bytes.
    expectRefusedAt(hex(`${block} 0016 ${address} 20 0007 00 00000000 0000`), 28, 'malformed');
    expect(outcome(hex(`${block} 0017 ${address} 20`))).toBe(INCOMPLETE);
    // A length's high byte alone can rule the TLV out.
    expectRefusedAt(hex(`${block} 0110 ${address} 04 02`), 29, 'malformed');
    expectRefusedAt(hex(`${block} 0200 ${address} 03 01`), 29, 'malformed');
    expectRefusedAt(hex(`${block} 0200 ${address} 05 01`), 29, 'malformed');
    const long = buildV2(1, 0x11, hex(address), [{ type: PP2_TYPE.UNIQUE_ID, value: Buffer.alloc(129) }]);
    expectRefusedAt(long, 30, 'malformed');
    expect(parsed(buildV2(1, 0x11, hex(address), [{ type: PP2_TYPE.UNIQUE_ID, value: Buffer.alloc(128) }])).tlvs[0]!.value.length).toBe(128);
    expectRefusedAt(hex(`${block} 0014 ${address} 20 0004 00000000 00`), 30, 'malformed');
    // An SSL TLV whose sub-TLV runs past it: refused at the sub-TLV's length.
    expectRefusedAt(hex(`${block} 0017 ${address} 20 0008 01 00000000 21 0001`), 38, 'malformed');
    const twice = buildV2(1, 0x11, hex(address), [{ type: PP2_TYPE.CRC32C, value: Buffer.alloc(4) }], true);
    expectRefusedAt(twice, 35, 'malformed');
  });
});
