import { isIPv4, isIPv6 } from 'node:net';

/** One end of a proxied connection. */
export interface ProxyEndpoint {
  address: string;
  port: number;
}

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
/** Version 2, command PROXY. */
const V2_PROXY = 0x21;
/** TCP over IPv4, TCP over IPv6. */
const TCP4 = 0x11;
const TCP6 = 0x21;

/**
 * The PROXY protocol header a proxy (HAProxy's `send-proxy`, `send-proxy-v2`) puts before a
 * relayed TCP connection's first byte: version 1 is one line of text, version 2 binary (the
 * PROXY command, no TLVs). Both addresses go in one family: if either is IPv6, an IPv4 one is
 * written IPv4-mapped (`::ffff:a.b.c.d`), as a dual-stack proxy would.
 *
 * Written apart from the server's parser (src/server/proxy-protocol/), from the same
 * specification, so that the round-trip tests check one against the other.
 *
 * @example
 *   encodeProxyHeader(1, { address: '10.0.0.1', port: 1025 }, { address: '127.0.0.1', port: 8090 }).toString()
 *   // 'PROXY TCP4 10.0.0.1 127.0.0.1 1025 8090\r\n'
 *   encodeProxyHeader(2, { address: '2001:db8::1', port: 1025 }, { address: '::1', port: 8090 }).length // 52
 */
export function encodeProxyHeader(version: 1 | 2, source: ProxyEndpoint, destination: ProxyEndpoint): Buffer {
  checkEndpoint(source, 'source');
  checkEndpoint(destination, 'destination');
  const six = isIPv6(source.address) || isIPv6(destination.address);
  const from = six ? asIpv6(source.address) : source.address;
  const to = six ? asIpv6(destination.address) : destination.address;
  if (version === 1) {
    return Buffer.from(`PROXY ${six ? 'TCP6' : 'TCP4'} ${from} ${to} ${source.port} ${destination.port}\r\n`, 'latin1');
  }
  const addressBytes = six ? 36 : 12;
  const header = Buffer.alloc(16 + addressBytes);
  header.set(V2_SIGNATURE, 0);
  header[12] = V2_PROXY;
  header[13] = six ? TCP6 : TCP4;
  header.writeUInt16BE(addressBytes, 14);
  const size = six ? 16 : 4;
  header.set(six ? ipv6Bytes(from) : ipv4Bytes(from), 16);
  header.set(six ? ipv6Bytes(to) : ipv4Bytes(to), 16 + size);
  header.writeUInt16BE(source.port, 16 + 2 * size);
  header.writeUInt16BE(destination.port, 18 + 2 * size);
  return header;
}

function checkEndpoint(endpoint: ProxyEndpoint, which: string): void {
  const { address, port } = endpoint;
  // A zone (fe80::1%eth0) has no place in a PROXY header.
  if (!(isIPv4(address) || (isIPv6(address) && !address.includes('%')))) {
    throw new RangeError(`PROXY header ${which}: '${address}' is not an IPv4 or IPv6 address`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`PROXY header ${which}: port ${port} is not 0..65535`);
}

function asIpv6(address: string): string {
  return isIPv4(address) ? `::ffff:${address}` : address;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** An IPv6 address's 16 bytes (the address is known valid): "::" expanded, a dotted tail read as two groups. */
function ipv6Bytes(address: string): Uint8Array {
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const pieces = part.split(':');
    const last = pieces[pieces.length - 1]!;
    const groups = pieces.slice(0, last.includes('.') ? -1 : undefined).map((piece) => parseInt(piece, 16));
    if (last.includes('.')) {
      const [a, b, c, d] = ipv4Bytes(last) as [number, number, number, number];
      groups.push((a << 8) | b, (c << 8) | d);
    }
    return groups;
  };
  const [left = '', right] = address.split('::');
  const head = toGroups(left);
  const tail = right === undefined ? [] : toGroups(right);
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/**
 * The made-up client connection `index` claims to be in its PROXY header, so that a server
 * behind it sees many clients: 10.x.y.z with x.y.z = index + 1 (IPv4), or 2001:db8::x:y in
 * the documentation prefix (IPv6), and port 1024 + index % 64512. Distinct for up to 16
 * million connections; nothing is ever sent to these addresses.
 *
 * @example
 *   proxyClient(0, false)   // { address: '10.0.0.1', port: 1024 }
 *   proxyClient(65535, true) // { address: '2001:db8::1:0', port: 2047 }
 */
export function proxyClient(index: number, ipv6: boolean): ProxyEndpoint {
  const n = index + 1;
  const port = 1024 + (index % 64_512);
  if (ipv6) {
    // Written canonically (RFC 5952), as a strict v1 receiver may ask.
    const [high, low] = [(n >>> 16).toString(16), (n & 0xffff).toString(16)];
    return { address: high === '0' ? `2001:db8::${low}` : `2001:db8::${high}:${low}`, port };
  }
  return { address: `10.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`, port };
}
