import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { INCOMPLETE, PP2_TYPE } from '../../../src/server/proxy-protocol/index.js';
import { buildV2, completeV2, v2Header } from '../../support/proxy-headers.js';
import { expectRefusedAt, hex, nearMiss, outcome, parsed } from './support/outcomes.js';

/** Version 2, the binary header (src/server/proxy-protocol/v2.ts). */

describe('the PROXY header parser, with the specification’s examples', () => {
  it('reads a v2 header as HAProxy sends it with send-proxy-v2 (a captured one), data after it untouched', () => {
    const bytes = hex('0d0a0d0a000d0a515549540a 21 11 000c ac130001 ac130003 a652 0050 474554202f');
    expect(parsed(bytes, 'v2')).toEqual({
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      source: { address: '172.19.0.1', port: 42578 },
      destination: { address: '172.19.0.3', port: 80 },
      tlvs: [],
      length: 28,
    });
    expect(bytes.subarray(28).toString()).toBe('GET /');
  });

  it('reads v2 LOCAL (a health check) without addresses, skipping an address block if there is one', () => {
    expect(parsed(hex('0d0a0d0a000d0a515549540a 20 00 0000'))).toEqual({
      version: 2,
      command: 'local',
      family: 'unknown',
      source: undefined,
      destination: undefined,
      tlvs: [],
      length: 16,
    });
    const withBlock = parsed(hex('0d0a0d0a000d0a515549540a 20 11 000f 7f000001 7f000001 1f90 1f91 040000'));
    expect(withBlock).toMatchObject({ command: 'local', family: 'tcp4', source: undefined, destination: undefined, length: 31 });
    expect(withBlock.tlvs).toEqual([{ type: PP2_TYPE.NOOP, value: Buffer.alloc(0) }]);
  });

  it('reads TCP and UDP over IPv6, UDP over IPv4 and UNIX addresses', () => {
    const v6 = Buffer.concat([hex('20010db8000000000000000000000001'), hex('00000000000000000000ffff7f000001'), hex('04d2 1f90')]);
    expect(parsed(buildV2(1, 0x21, v6, []))).toMatchObject({ family: 'tcp6', source: { address: '2001:db8::1', port: 1234 }, destination: { address: '::ffff:127.0.0.1', port: 8080 } });
    expect(parsed(buildV2(1, 0x22, v6, [])).family).toBe('udp6');
    expect(parsed(buildV2(1, 0x12, hex('0a000001 0a000002 0035 0035'), []))).toMatchObject({ family: 'udp4', source: { address: '10.0.0.1', port: 53 } });
    const unix = Buffer.alloc(216);
    unix.write('/var/run/client.sock', 0);
    unix.write('\0echo', 108, 'latin1');
    expect(parsed(buildV2(1, 0x31, unix, []))).toMatchObject({ family: 'unix', source: { address: '/var/run/client.sock', port: 0 }, destination: { address: '@echo', port: 0 } });
  });
});

describe('the PROXY header parser refuses a malformed header at the first byte that rules it out', () => {
  it('refuses a wrong v2 signature at the byte that differs', () => {
    const good = hex('0d0a0d0a000d0a515549540a 20 00 0000');
    for (let i = 0; i < 12; i++) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x01;
      // A changed first byte is not the start of either version; later ones break the signature.
      expectRefusedAt(bad, i, 'missing', 'v2');
    }
    // A TLS ClientHello or an HTTP request is refused at its first byte.
    expectRefusedAt(hex('160301'), 0, 'missing');
  });

  it('calls a v2 version other than 2 unsupported, and unassigned values malformed', () => {
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 11 11 000c'), 12, 'unsupported');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 31 11 000c'), 12, 'unsupported');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 22 11 000c'), 12, 'malformed');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 21 41 000c'), 13, 'malformed');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 21 13 000c'), 13, 'malformed');
  });

  it('refuses a v2 length too short for its addresses or its TLVs, before they arrive', () => {
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 21 11 000b'), 15, 'malformed');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 21 21 0023'), 15, 'malformed');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 21 31 00d7'), 15, 'malformed');
    // 12 address bytes, then 1 or 2 bytes: too few for any TLV.
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 21 11 000d'), 15, 'malformed');
    expectRefusedAt(hex('0d0a0d0a000d0a515549540a 20 00 0002'), 15, 'malformed');
  });
});

describe('the PROXY header parser, fuzzed', () => {
  it('says INCOMPLETE of a v2 prefix only if some valid header begins with it', () => {
    const near = nearMiss(v2Header);
    const truncated = v2Header.chain(({ bytes }) => fc.nat({ max: bytes.length - 1 }).map((k) => Uint8Array.from(bytes.subarray(0, k))));
    fc.assert(
      fc.property(fc.oneof(near, truncated), (bytes) => {
        if (outcome(bytes, 'v2') !== INCOMPLETE) return;
        const completion = completeV2(bytes);
        fc.pre(completion !== 'crc');
        expect(completion, `INCOMPLETE for ${Buffer.from(bytes).toString('hex')}, yet no header was found to begin with it`).toBeDefined();
        const full = completion as Buffer;
        expect(full.subarray(0, bytes.length)).toEqual(Buffer.from(bytes));
        expect(parsed(full, 'v2').length).toBe(full.length);
      }),
      { numRuns: 2000 },
    );
  });
});
