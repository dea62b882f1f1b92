import { hex2, v2Error } from './errors.js';
import type { ProxyTlv } from './header.js';

// A v2 header's TLVs: the registered types, their layout checked as the bytes arrive, and
// what the registered ones say.

/** The registered v2 TLV types (section 2.2). */
export const PP2_TYPE = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
} as const;

/** Sub-types inside a PP2_TYPE_SSL value (section 2.2.6). */
export const PP2_SUBTYPE_SSL = { VERSION: 0x21, CN: 0x22, CIPHER: 0x23, SIG_ALG: 0x24, KEY_ALG: 0x25 } as const;

/** Bits of the SSL TLV's `client` field. */
export const PP2_CLIENT = { SSL: 0x01, CERT_CONN: 0x02, CERT_SESS: 0x04 } as const;

/**
 * Checks the TLVs in [p, total) as far as they have arrived (`available`), so that a header no
 * bytes could still complete is refused at once: each TLV needs its type, its 2-byte length and
 * its value within the header, leaving 0 or at least 3 bytes (a TLV's least) after it; CRC32C
 * is 4 bytes and appears once; UNIQUE_ID is at most 128 bytes; SSL holds its 5-byte client and
 * verify fields, then sub-TLVs that fill it exactly. What a type alone, or a length's high byte,
 * already rules out is refused then. Returns where the CRC32C value is, or -1.
 */
export function checkTlvs(b: Uint8Array, p: number, total: number, available: number): number {
  let crcAt = -1;
  while (p < total) {
    // Bytes for this TLV's value and the TLVs after it.
    const room = total - p - 3;
    if (room < 0) throw v2Error(`${total - p} bytes left at the end, too few for a TLV`);
    if (p >= available) return crcAt;
    const type = b[p]!;
    if (type === PP2_TYPE.CRC32C) {
      if (crcAt >= 0) throw v2Error('a second CRC32C TLV');
      // 4 bytes, then nothing or another TLV.
      if (room < 4 || room === 5 || room === 6) throw v2Error(`no room for a CRC32C TLV in the ${total - p} bytes left`);
    } else if (type === PP2_TYPE.SSL && (room < 5 || room === 6 || room === 7)) {
      // 5 bytes and sub-TLVs (none, or 3 bytes at least), then nothing or another TLV.
      throw v2Error(`no room for an SSL TLV in the ${total - p} bytes left`);
    }
    if (p + 1 >= available) return crcAt;
    const high = b[p + 1]! << 8;
    if (high > room) throw v2Error(`TLV 0x${hex2(type)} of ${high} bytes or more runs past the header's end`);
    if (high !== 0 && (type === PP2_TYPE.CRC32C || type === PP2_TYPE.UNIQUE_ID)) throw v2Error(`${type === PP2_TYPE.CRC32C ? 'CRC32C' : 'UNIQUE_ID'} TLV of ${high} bytes or more`);
    if (p + 2 >= available) return crcAt;
    const length = high | b[p + 2]!;
    if (length > room) throw v2Error(`TLV 0x${hex2(type)} of ${length} bytes runs past the header's end`);
    const next = p + 3 + length;
    if (type === PP2_TYPE.CRC32C) {
      if (length !== 4) throw v2Error(`CRC32C TLV of ${length} bytes (4 expected)`);
      crcAt = p + 3;
    } else if (type === PP2_TYPE.UNIQUE_ID && length > 128) {
      throw v2Error(`UNIQUE_ID TLV of ${length} bytes (at most 128)`);
    } else if (type === PP2_TYPE.SSL) {
      if (length < 5) throw v2Error(`SSL TLV of ${length} bytes (at least 5)`);
      checkSslTlvs(b, p + 8, next, available);
    }
    p = next;
  }
  return crcAt;
}

/** The sub-TLVs of an SSL TLV, in [q, end), as far as `available`: the same layout, any types. */
function checkSslTlvs(b: Uint8Array, q: number, end: number, available: number): void {
  while (q < end) {
    const room = end - q - 3;
    if (room < 0) throw v2Error('SSL TLV ends inside a sub-TLV');
    if (q + 1 >= available) return;
    const high = b[q + 1]! << 8;
    if (high > room) throw v2Error("an SSL sub-TLV runs past the SSL TLV's end");
    if (q + 2 >= available) return;
    const length = high | b[q + 2]!;
    if (length > room) throw v2Error("an SSL sub-TLV runs past the SSL TLV's end");
    q += 3 + length;
  }
}

/** The TLVs of a complete, checked header, their values in one copy (the input may be a reused read buffer). */
export function collectTlvs(b: Uint8Array, p: number, total: number): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  if (p === total) return tlvs;
  const copy = Buffer.copyBytesFrom(b, p, total - p);
  for (let q = 0; q < copy.length; ) {
    const length = (copy[q + 1]! << 8) | copy[q + 2]!;
    tlvs.push({ type: copy[q]!, value: copy.subarray(q + 3, q + 3 + length) });
    q += 3 + length;
  }
  return tlvs;
}

/** PP2_TYPE_SSL's value: how the client reached the proxy over TLS. */
export interface ProxySslTlv {
  /** PP2_CLIENT bits: SSL (connected over TLS), CERT_CONN, CERT_SESS (presented a certificate). */
  client: number;
  /** 0 if the client presented a certificate and it was verified. */
  verify: number;
  version?: string;
  /** The client certificate's Common Name. */
  cn?: string;
  cipher?: string;
  sigAlg?: string;
  keyAlg?: string;
  /** All sub-TLVs, the ones above included. */
  tlvs: ProxyTlv[];
}

/** What the registered TLVs of a header say; each the first of its type. */
export interface ProxyTlvInfo {
  /** The upper layer protocol (ALPN), as the bytes sent. */
  alpn?: Buffer;
  /** The host name the client asked for (TLS SNI, or otherwise), UTF-8. */
  authority?: string;
  /** The checksum the header carried (already verified by the parser). */
  crc32c?: number;
  /** An opaque id of the connection from the proxy, up to 128 bytes. */
  uniqueId?: Buffer;
  ssl?: ProxySslTlv;
  /** The network namespace's name. */
  netns?: string;
}

/**
 * Decodes the registered TLVs of a parsed header (unregistered and NOOP ones are left out;
 * they stay in `header.tlvs`).
 *
 * @example
 *   decodeProxyTlvs(header.tlvs) // { authority: 'example.com', ssl: { client: 1, verify: 0, version: 'TLSv1.3', tlvs: [...] } }
 */
export function decodeProxyTlvs(tlvs: readonly ProxyTlv[]): ProxyTlvInfo {
  const info: ProxyTlvInfo = {};
  for (const { type, value } of tlvs) {
    if (type === PP2_TYPE.ALPN) info.alpn ??= value;
    else if (type === PP2_TYPE.AUTHORITY) info.authority ??= value.toString('utf8');
    else if (type === PP2_TYPE.CRC32C) info.crc32c ??= value.readUInt32BE(0);
    else if (type === PP2_TYPE.UNIQUE_ID) info.uniqueId ??= value;
    else if (type === PP2_TYPE.SSL) info.ssl ??= decodeSslTlv(value);
    else if (type === PP2_TYPE.NETNS) info.netns ??= value.toString('latin1');
  }
  return info;
}

/** A PP2_TYPE_SSL value (as checked by the parser): client, verify, then sub-TLVs. */
function decodeSslTlv(value: Buffer): ProxySslTlv {
  const ssl: ProxySslTlv = { client: value[0]!, verify: value.readUInt32BE(1), tlvs: [] };
  for (let q = 5; q + 3 <= value.length; ) {
    const type = value[q]!;
    const sub = value.subarray(q + 3, q + 3 + value.readUInt16BE(q + 1));
    ssl.tlvs.push({ type, value: sub });
    if (type === PP2_SUBTYPE_SSL.VERSION) ssl.version ??= sub.toString('latin1');
    else if (type === PP2_SUBTYPE_SSL.CN) ssl.cn ??= sub.toString('utf8');
    else if (type === PP2_SUBTYPE_SSL.CIPHER) ssl.cipher ??= sub.toString('latin1');
    else if (type === PP2_SUBTYPE_SSL.SIG_ALG) ssl.sigAlg ??= sub.toString('latin1');
    else if (type === PP2_SUBTYPE_SSL.KEY_ALG) ssl.keyAlg ??= sub.toString('latin1');
    q += 3 + sub.length;
  }
  return ssl;
}
