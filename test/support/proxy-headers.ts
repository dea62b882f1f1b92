/**
 * PROXY protocol headers for tests, written apart from the parser (src/server/proxy-protocol/)
 * from the same specification: fast-check generators of valid headers with what they must
 * parse to, an independent judge of v1 lines (Node's own IP address checks), and completers that
 * find a valid header beginning with given bytes, to check that the parser's INCOMPLETE is only
 * ever said of a true prefix.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import fc from 'fast-check';
import type { ProxyHeader } from '../../src/server/proxy-protocol/index.js';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A valid header and what it must parse to. */
export interface HeaderCase {
  bytes: Buffer;
  expected: ProxyHeader;
}

/** CRC32C bit by bit (the parser uses a table): RFC 4960 appendix B, reflected 0x82F63B78. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Node's text for an IPv6 address given as 8 groups (what the parser must give back). */
export function nodeIpv6(groups: readonly number[]): string {
  return new SocketAddress({ address: groups.map((g) => g.toString(16)).join(':'), family: 'ipv6' }).address;
}

/** Node's text for any IPv6 address text. */
export function normalizeIpv6(text: string): string {
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

// ---------------------------------------------------------------------------------------------
// Version 1.

const port = fc.integer({ min: 0, max: 65_535 });
/** Zero groups often, so that "::" and the dotted forms come up. */
const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const groups = fc.array(group, { minLength: 8, maxLength: 8 });

/**
 * One of the many texts inet_pton reads as these groups: upper or lower case, with or without
 * leading zeros, any run of zero groups (one or more) as "::", the last 32 bits dotted or not.
 */
const ipv6Text = (value: readonly number[]) =>
  fc.record({ upper: fc.boolean(), pad: fc.boolean(), dotted: fc.boolean(), cut: fc.nat(), cutLength: fc.nat() }).map(({ upper, pad, dotted, cut, cutLength }) => {
    const hexCount = dotted ? 6 : 8;
    const words = value.slice(0, hexCount).map((g) => {
      const text = pad ? g.toString(16).padStart(4, '0') : g.toString(16);
      return upper ? text.toUpperCase() : text;
    });
    const tail = dotted ? `${value[6]! >> 8}.${value[6]! & 0xff}.${value[7]! >> 8}.${value[7]! & 0xff}` : undefined;
    // Zero runs that "::" may stand for: any [start, end) of zero groups.
    const runs: Array<[number, number]> = [];
    for (let start = 0; start < hexCount; start++) {
      for (let end = start + 1; end <= hexCount && value[end - 1] === 0; end++) runs.push([start, end]);
    }
    const pieces = tail === undefined ? words : [...words, tail];
    if (runs.length === 0 || cutLength % 3 === 0) return pieces.join(':');
    const [start, end] = runs[cut % runs.length]!;
    return `${pieces.slice(0, start).join(':')}::${pieces.slice(end).join(':')}`;
  });

const v1Tcp4: fc.Arbitrary<HeaderCase> = fc.tuple(fc.ipV4(), fc.ipV4(), port, port).map(([source, destination, sourcePort, destinationPort]) => ({
  bytes: Buffer.from(`PROXY TCP4 ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`),
  expected: header(1, 'proxy', 'tcp4', { address: source, port: sourcePort }, { address: destination, port: destinationPort }, [], 0),
}));

const v1Tcp6: fc.Arbitrary<HeaderCase> = fc
  .tuple(groups, groups, port, port)
  .chain(([source, destination, sourcePort, destinationPort]) =>
    fc.tuple(ipv6Text(source), ipv6Text(destination)).map(([from, to]) => ({
      bytes: Buffer.from(`PROXY TCP6 ${from} ${to} ${sourcePort} ${destinationPort}\r\n`),
      expected: header(1, 'proxy', 'tcp6', { address: nodeIpv6(source), port: sourcePort }, { address: nodeIpv6(destination), port: destinationPort }, [], 0),
    })),
  )
  .filter((c) => c.bytes.length <= 107);

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 92 });
const v1Unknown: fc.Arbitrary<HeaderCase> = fc.option(printable).map((rest) => ({
  bytes: Buffer.from(`PROXY UNKNOWN${rest === null ? '' : ` ${rest}`}\r\n`, 'latin1'),
  expected: header(1, 'proxy', 'unknown', undefined, undefined, [], 0),
}));

/** Valid v1 lines of every kind. */
export const v1Header: fc.Arbitrary<HeaderCase> = fc.oneof(v1Tcp4, v1Tcp6, v1Unknown).map(withLength);

/**
 * Whether a string is a valid v1 line, judged with Node's IPv4/IPv6 checks and regular
 * expressions rather than the parser's byte-by-byte reader.
 */
export function isValidV1Line(line: string): boolean {
  if (line.length > 107 || !line.endsWith('\r\n')) return false;
  const body = line.slice(0, -2);
  if (/[\r\n]/.test(body)) return false;
  if (body === 'PROXY UNKNOWN' || body.startsWith('PROXY UNKNOWN ')) return true;
  const match = /^PROXY (TCP4|TCP6) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+)$/.exec(body);
  if (match === null) return false;
  const address = match[1] === 'TCP4' ? isIPv4 : (text: string) => isIPv6(text) && !text.includes('%');
  const isPort = (text: string) => /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65_535;
  return address(match[2]!) && address(match[3]!) && isPort(match[4]!) && isPort(match[5]!);
}

/**
 * A valid v1 line that starts with `prefix` (which starts "PROXY TCP4 " or "PROXY TCP6 "), or
 * undefined if there is none: the field being written is completed by every string of up to 7
 * bytes over the characters that can complete it, the later fields by their shortest values.
 */
export function completeV1(prefix: string): string | undefined {
  const head = prefix.slice(0, 11);
  const six = head === 'PROXY TCP6 ';
  if (!six && head !== 'PROXY TCP4 ') throw new Error(`completeV1 takes TCP4/TCP6 prefixes, got ${JSON.stringify(prefix)}`);
  const body = prefix.slice(11);
  const cr = body.indexOf('\r');
  if (cr >= 0) return cr === body.length - 1 && isValidV1Line(`${prefix}\n`) ? `${prefix}\n` : undefined;
  const fields = body.split(' ');
  const current = fields.length - 1;
  if (current > 3) return undefined;
  const shortest = [six ? '::' : '0.0.0.0', six ? '::' : '0.0.0.0', '0', '0'];
  const alphabet = current < 2 ? (six ? ['0', ':', '.'] : ['0', '.']) : ['0'];
  let level = [''];
  for (let depth = 0; depth <= 7; depth++) {
    for (const suffix of level) {
      const line = `${head}${[...fields.slice(0, current), fields[current] + suffix, ...shortest.slice(current + 1)].join(' ')}\r\n`;
      if (isValidV1Line(line)) return line;
    }
    level = level.flatMap((suffix) => alphabet.map((c) => suffix + c));
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Version 2.

/** The family-and-transport bytes the spec lists, and ones with one half unspecified. */
const FAMILY_BYTES = [0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32, 0x01, 0x02, 0x10, 0x20, 0x30] as const;
const FAMILY_NAMES: Record<number, ProxyHeader['family']> = { 0x11: 'tcp4', 0x12: 'udp4', 0x21: 'tcp6', 0x22: 'udp6', 0x31: 'unix', 0x32: 'unix' };
const ADDRESS_BYTES: Record<number, number> = { 0x11: 12, 0x12: 12, 0x21: 36, 0x22: 36, 0x31: 216, 0x32: 216 };

/** Builds a v2 header: the fixed block, the address bytes, the TLVs, a CRC32C TLV last if asked. */
export function buildV2(command: 0 | 1, family: number, address: Uint8Array, tlvs: ReadonlyArray<{ type: number; value: Uint8Array }>, crc = false): Buffer {
  const encoded = tlvs.map(({ type, value }) => Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 0xff]), value]));
  if (crc) encoded.push(Buffer.from([0x03, 0, 4, 0, 0, 0, 0]));
  const body = Buffer.concat([address, ...encoded]);
  const bytes = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20 | command, family, body.length >> 8, body.length & 0xff]), body]);
  if (crc) bytes.writeUInt32BE(crc32c(bytes), bytes.length - 4);
  return bytes;
}

/** TLVs whose values need no structure, with registered types among them (not CRC32C, SSL). */
const plainTlv = fc.record({
  type: fc.oneof(fc.constantFrom(0x01, 0x02, 0x04, 0x30, 0xe0, 0xf0), fc.integer({ min: 0, max: 255 }).filter((t) => t !== 0x03 && t !== 0x20)),
  value: fc.uint8Array({ maxLength: 40 }),
});
const uniqueIdTlv = fc.record({ type: fc.constant(0x05), value: fc.uint8Array({ maxLength: 128 }) });
const sslTlv = fc
  .tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0xffffffff }), fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 4 }))
  .map(([client, verify, subs]) => {
    const head = Buffer.alloc(5);
    head[0] = client;
    head.writeUInt32BE(verify, 1);
    const parts = subs.map(({ type, value }) => Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 0xff]), value]));
    return { type: 0x20, value: new Uint8Array(Buffer.concat([head, ...parts])) };
  });
/** A list of valid TLVs of every kind but CRC32C (which `buildV2` adds). */
export const tlvList = fc.array(fc.oneof({ weight: 4, arbitrary: plainTlv }, { weight: 1, arbitrary: uniqueIdTlv }, { weight: 1, arbitrary: sslTlv }), { maxLength: 5 });

/** Valid v2 headers: both commands, every family byte, random addresses and TLVs, with or without CRC32C. */
export const v2Header: fc.Arbitrary<HeaderCase> = fc
  .tuple(fc.constantFrom<0 | 1>(0, 1), fc.constantFrom(...FAMILY_BYTES), fc.uint8Array({ minLength: 216, maxLength: 216 }), tlvList, fc.boolean(), fc.boolean())
  .map(([command, family, pool, tlvs, crc, unixText]) => {
    const size = ADDRESS_BYTES[family] ?? 0;
    const address = Uint8Array.from(pool.subarray(0, size));
    if (size === 216 && unixText) {
      // A path, a NUL, then anything; the destination an abstract name.
      address.set(Buffer.from('/run/echo.sock\0'), 0);
      address.set(Buffer.from('\0echo\0'), 108);
    }
    const bytes = buildV2(command, family, address, tlvs, crc);
    const name = FAMILY_NAMES[family] ?? 'unknown';
    const ends = command === 1 && name !== 'unknown' ? v2Addresses(family, address) : [undefined, undefined];
    const expectedTlvs: ProxyHeader['tlvs'] = tlvs.map(({ type, value }) => ({ type, value: Buffer.from(value) }));
    if (crc) expectedTlvs.push({ type: 0x03, value: bytes.subarray(bytes.length - 4) });
    return { bytes, expected: header(2, command === 1 ? 'proxy' : 'local', name, ends[0], ends[1], expectedTlvs, bytes.length) };
  });

function v2Addresses(family: number, a: Uint8Array): [ProxyHeader['source'], ProxyHeader['destination']] {
  const buffer = Buffer.from(a);
  if (family >> 4 === 1) {
    return [
      { address: [...a.subarray(0, 4)].join('.'), port: buffer.readUInt16BE(8) },
      { address: [...a.subarray(4, 8)].join('.'), port: buffer.readUInt16BE(10) },
    ];
  }
  if (family >> 4 === 2) {
    const words = (at: number) => Array.from({ length: 8 }, (_, i) => buffer.readUInt16BE(at + 2 * i));
    return [
      { address: nodeIpv6(words(0)), port: buffer.readUInt16BE(32) },
      { address: nodeIpv6(words(16)), port: buffer.readUInt16BE(34) },
    ];
  }
  const path = (at: number) => {
    const raw = buffer.subarray(at, at + 108);
    const abstract = raw[0] === 0;
    const rest = raw.subarray(abstract ? 1 : 0);
    const end = rest.indexOf(0);
    const text = rest.subarray(0, end < 0 ? rest.length : end).toString('utf8');
    return abstract ? `@${text}` : text;
  };
  return [
    { address: path(0), port: 0 },
    { address: path(108), port: 0 },
  ];
}

/**
 * A valid v2 header that starts with `prefix`, found by filling in what is missing (length
 * bytes chosen so that the rest can be TLVs, missing TLVs as one NOOP, missing values as
 * zeros); undefined when this way finds none, `'crc'` when the prefix holds part of a CRC32C
 * value (which later bytes would match it is not worked out here).
 */
export function completeV2(prefix: Uint8Array): Buffer | undefined | 'crc' {
  const n = prefix.length;
  const head = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x00, 0x00, 0x00])]);
  head.set(prefix.subarray(0, Math.min(16, n)));
  const family = head[13]!;
  const addressBytes = (family & 0x0f) === 0 ? 0 : [0, 12, 36, 216][family >> 4]!;
  if (n <= 14) head.writeUInt16BE(addressBytes, 14);
  else if (n === 15) {
    const low = chooseLow(head[14]! << 8, (length) => length >= addressBytes && fillable(length - addressBytes));
    if (low === undefined) return undefined;
    head[15] = low;
  }
  const total = 16 + head.readUInt16BE(14);
  if (n > total) return undefined;
  const bytes = Buffer.alloc(total);
  head.copy(bytes);
  bytes.set(prefix.subarray(16), 16);
  let crcAt = -1;
  const fillTlvs = (from: number, to: number, typed: boolean): boolean => {
    let q = from;
    while (q < to) {
      if (to - q < 3) return false;
      if (q >= n) {
        bytes[q] = 0x04; // one NOOP for everything left
        bytes.writeUInt16BE(to - q - 3, q + 1);
        return true;
      }
      const type = bytes[q]!;
      const [min, max] = typed ? valueRange(type) : [0, 65_535];
      const fits = (length: number) =>
        length >= min && length <= max && q + 3 + length <= to && fillable(to - q - 3 - length) && (!typed || type !== 0x20 || fillable(length - 5));
      if (q + 1 >= n) {
        // All the room left, or the least the type takes (the rest then one NOOP).
        const length = [to - q - 3, min].find(fits);
        if (length === undefined) return false;
        bytes.writeUInt16BE(length, q + 1);
      } else if (q + 2 >= n) {
        const low = chooseLow(bytes[q + 1]! << 8, fits);
        if (low === undefined) return false;
        bytes[q + 2] = low;
      }
      const length = bytes.readUInt16BE(q + 1);
      if (!fits(length)) return false;
      if (typed && type === 0x20 && !fillTlvs(q + 8, q + 3 + length, false)) return false;
      if (typed && type === 0x03) crcAt = q + 3;
      q += 3 + length;
    }
    return true;
  };
  if (!fillTlvs(16 + addressBytes, total, true)) return undefined;
  if (crcAt >= 0) {
    if (n > crcAt) return 'crc';
    bytes.fill(0, crcAt, crcAt + 4);
    bytes.writeUInt32BE(crc32c(bytes), crcAt);
  }
  return bytes;
}

function valueRange(type: number): [number, number] {
  if (type === 0x03) return [4, 4];
  if (type === 0x05) return [0, 128];
  if (type === 0x20) return [5, 65_535];
  return [0, 65_535];
}

function fillable(length: number): boolean {
  return length === 0 || length >= 3;
}

function chooseLow(high: number, ok: (value: number) => boolean): number | undefined {
  for (let low = 0; low < 256; low++) if (ok(high | low)) return low;
  return undefined;
}

// ---------------------------------------------------------------------------------------------

function header(
  version: 1 | 2,
  command: ProxyHeader['command'],
  family: ProxyHeader['family'],
  source: ProxyHeader['source'],
  destination: ProxyHeader['destination'],
  tlvs: ProxyHeader['tlvs'],
  length: number,
): ProxyHeader {
  return { version, command, family, source, destination, tlvs, length };
}

function withLength(c: HeaderCase): HeaderCase {
  return { bytes: c.bytes, expected: { ...c.expected, length: c.bytes.length } };
}

/** Any valid header, either version. */
export const anyHeader: fc.Arbitrary<HeaderCase> = fc.oneof(v1Header, v2Header);
