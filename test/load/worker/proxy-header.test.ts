import { isIPv6, SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeProxyHeader, proxyClient } from '../../../load/worker/proxy-header.js';
import { INCOMPLETE, parseProxyHeader } from '../../../src/server/proxy-protocol/index.js';

/** Node's text for an address, the form the parser gives back. */
function canonical(address: string): string {
  return new SocketAddress({ address, family: isIPv6(address) ? 'ipv6' : 'ipv4' }).address;
}

const port = fc.integer({ min: 0, max: 65_535 });
const endpoint = (address: fc.Arbitrary<string>) => fc.record({ address, port });

describe("echo-load's PROXY header encoder", () => {
  it('writes the v1 line and the v2 block the specification describes', () => {
    expect(encodeProxyHeader(1, { address: '10.0.0.1', port: 1025 }, { address: '127.0.0.1', port: 8090 }).toString()).toBe('PROXY TCP4 10.0.0.1 127.0.0.1 1025 8090\r\n');
    expect(encodeProxyHeader(1, { address: '2001:db8::1', port: 1 }, { address: '::1', port: 2 }).toString()).toBe('PROXY TCP6 2001:db8::1 ::1 1 2\r\n');
    expect(encodeProxyHeader(2, { address: '172.19.0.1', port: 42578 }, { address: '172.19.0.3', port: 80 }).toString('hex')).toBe(
      '0d0a0d0a000d0a515549540a' + '21' + '11' + '000c' + 'ac130001' + 'ac130003' + 'a652' + '0050',
    );
    expect(encodeProxyHeader(2, { address: '::ffff:1.2.3.4', port: 1 }, { address: '::', port: 2 }).toString('hex')).toBe(
      '0d0a0d0a000d0a515549540a2121' + '0024' + '00000000000000000000ffff01020304' + '00'.repeat(16) + '0001' + '0002',
    );
  });

  it('round-trips random IPv4 and IPv6 endpoints through the parser, in both versions', () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6());
    fc.assert(
      fc.property(fc.constantFrom<1 | 2>(1, 2), endpoint(address), endpoint(address), fc.uint8Array({ maxLength: 8 }), (version, source, destination, data) => {
        const bytes = encodeProxyHeader(version, source, destination);
        const header = parseProxyHeader(Buffer.concat([bytes, data]), version === 1 ? 'v1' : 'v2');
        if (header === INCOMPLETE) throw new Error('INCOMPLETE');
        // Mixed families go as IPv6, the IPv4 one mapped.
        const six = isIPv6(source.address) || isIPv6(destination.address);
        const expected = (a: string) => canonical(six && !isIPv6(a) ? `::ffff:${a}` : a);
        expect(header).toEqual({
          version,
          command: 'proxy',
          family: six ? 'tcp6' : 'tcp4',
          source: { address: expected(source.address), port: source.port },
          destination: { address: expected(destination.address), port: destination.port },
          tlvs: [],
          length: bytes.length,
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses what is not an address or a port', () => {
    const good = { address: '127.0.0.1', port: 1 };
    expect(() => encodeProxyHeader(1, { address: 'localhost', port: 1 }, good)).toThrow(RangeError);
    expect(() => encodeProxyHeader(2, { address: 'fe80::1%eth0', port: 1 }, good)).toThrow(/not an IPv4 or IPv6 address/);
    expect(() => encodeProxyHeader(2, good, { address: '127.0.0.1', port: 65_536 })).toThrow(/port 65536/);
  });
});

describe('the made-up PROXY clients', () => {
  it('are distinct per connection, in 10.0.0.0/8 or 2001:db8::/32, and parse back as sent', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 100_000; index += 37) {
      for (const ipv6 of [false, true]) {
        const client = proxyClient(index, ipv6);
        expect(client.address).toBe(canonical(client.address));
        expect(client.address.startsWith(ipv6 ? '2001:db8::' : '10.')).toBe(true);
        expect(client.port).toBeGreaterThanOrEqual(1024);
        seen.add(client.address);
        const header = parseProxyHeader(encodeProxyHeader(1, client, { address: ipv6 ? '::1' : '127.0.0.1', port: 8090 }), 'v1');
        expect(header !== INCOMPLETE && header.source).toEqual(client);
      }
    }
    expect(seen.size).toBe(2 * Math.ceil(100_000 / 37));
    expect(proxyClient(0, false)).toEqual({ address: '10.0.0.1', port: 1024 });
    expect(proxyClient(999_999, false).address).toBe('10.15.66.64');
    expect(proxyClient(65_535, true)).toEqual({ address: '2001:db8::1:0', port: 2047 });
  });
});
