import { formatIpv4, formatIpv6 } from './addresses.js';
import { hex2, ProxyHeaderError, v1Error, type ProxyHeaderFailure } from './errors.js';
import { INCOMPLETE, type ProxyHeader } from './header.js';
import { ipv6 } from './ipv6-text.js';
import { RAN_OUT, SPACE, step } from './v1-steps.js';

// Version 1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF, or
// "PROXY" SP "UNKNOWN" [SP anything] CRLF; at most 107 bytes with the CRLF.

/** The longest v1 line a receiver must take, CRLF included (section 2.1). */
export const PROXY_V1_MAX_LENGTH = 107;

const V1_PREFIX = ascii('PROXY');
const TCP = ascii('TCP');
const UNKNOWN = ascii('NKNOWN');
const CR = 0x0d;
const LF = 0x0a;

// Where the address steps leave what they read, so that an incomplete line allocates nothing
// (a parse is synchronous, so one scratch serves every call): IPv4 octets (source at 0,
// destination at 4), IPv6 groups (source 0, destination 8).
const octets = new Uint8Array(8);
const groups = new Uint16Array(16);

/** A v1 line from the start of `b` (its first byte is 'P'), `n` bytes received so far. */
export function parseV1(b: Uint8Array, n: number): ProxyHeader | typeof INCOMPLETE {
  // Nothing past byte 107 is looked at: a line that has not ended by then never will.
  const end = n < PROXY_V1_MAX_LENGTH ? n : PROXY_V1_MAX_LENGTH;
  // "PROXY" is what makes it a v1 header at all (section 2.2: the first 5 bytes).
  let p = literal(b, 0, end, V1_PREFIX, 'missing');
  if (p === RAN_OUT) return ranOut(end, step.shortBy + 10);
  if (p === end) return ranOut(end, 10); // " UNKNOWN\r\n" is the shortest rest
  if (b[p] !== SPACE) throw v1Error(p, 'expected one space after PROXY');
  p++;
  if (p === end) return ranOut(end, 9);
  if (b[p] === 0x55 /* U */) return unknownLine(b, p + 1, end);
  if (b[p] !== 0x54 /* T */) throw v1Error(p, 'expected TCP4, TCP6 or UNKNOWN');
  p = literal(b, p, end, TCP, 'malformed');
  if (p === RAN_OUT) return ranOut(end, step.shortBy + 13);
  if (p === end) return ranOut(end, 13); // "6 :: :: 0 0\r\n"
  const six = b[p] === 0x36;
  if (!six && b[p] !== 0x34) throw v1Error(p, 'expected TCP4, TCP6 or UNKNOWN');
  p++;
  const shortest = six ? 2 : 7; // "::" or "0.0.0.0"
  if (p === end) return ranOut(end, 1 + shortest + 1 + shortest + 6);
  if (b[p] !== SPACE) throw v1Error(p, 'expected one space after the protocol');
  p++;

  p = six ? ipv6(b, p, end, groups, 0) : ipv4(b, p, end, 0);
  if (p === RAN_OUT) return ranOut(end, step.shortBy + 1 + shortest + 6);
  p++; // the space that ended the address
  p = six ? ipv6(b, p, end, groups, 8) : ipv4(b, p, end, 4);
  if (p === RAN_OUT) return ranOut(end, step.shortBy + 6);
  p++;
  const sourcePort = port(b, p, end, SPACE);
  if (sourcePort === RAN_OUT) return ranOut(end, step.shortBy + 4);
  p = portEnd + 1;
  const destinationPort = port(b, p, end, CR);
  if (destinationPort === RAN_OUT) return ranOut(end, step.shortBy + 2);
  p = portEnd + 1;
  if (p === end) return ranOut(end, 1);
  if (b[p] !== LF) throw v1Error(p, 'expected LF after CR');
  return {
    version: 1,
    command: 'proxy',
    family: six ? 'tcp6' : 'tcp4',
    source: { address: six ? formatIpv6(groups, 0) : formatIpv4(octets, 0), port: sourcePort },
    destination: { address: six ? formatIpv6(groups, 8) : formatIpv4(octets, 4), port: destinationPort },
    tlvs: [],
    length: p + 1,
  };
}

/**
 * `PROXY UNKNOWN`: the sender could not fill the line; the receiver ignores the rest up to the
 * CRLF and uses the socket's own endpoints. `p` is just past the U.
 */
function unknownLine(b: Uint8Array, p: number, end: number): ProxyHeader | typeof INCOMPLETE {
  p = literal(b, p, end, UNKNOWN, 'malformed');
  if (p === RAN_OUT) return ranOut(end, step.shortBy + 2);
  if (p === end) return ranOut(end, 2);
  if (b[p] !== SPACE && b[p] !== CR) throw v1Error(p, 'expected a space or CRLF after UNKNOWN');
  for (; p < end; p++) {
    const c = b[p]!;
    if (c === LF) throw v1Error(p, 'LF without CR');
    if (c !== CR) continue;
    if (p + 1 === end) return ranOut(end, 1);
    if (b[p + 1] !== LF) throw v1Error(p + 1, 'CR without LF');
    return { version: 1, command: 'proxy', family: 'unknown', source: undefined, destination: undefined, tlvs: [], length: p + 2 };
  }
  return ranOut(end, 2);
}

/** The bytes ended (at `end`) with all so far valid: a prefix, unless no completion fits in 107 bytes. */
function ranOut(end: number, needed: number): typeof INCOMPLETE {
  if (end + needed > PROXY_V1_MAX_LENGTH) {
    throw new ProxyHeaderError('malformed', `PROXY v1: no CRLF within the first ${PROXY_V1_MAX_LENGTH} bytes`);
  }
  return INCOMPLETE;
}

function literal(b: Uint8Array, p: number, end: number, text: Uint8Array, reason: ProxyHeaderFailure): number {
  for (let i = 0; i < text.length; i++, p++) {
    if (p === end) {
      step.shortBy = text.length - i;
      return RAN_OUT;
    }
    if (b[p] !== text[i]) {
      if (reason === 'missing') throw new ProxyHeaderError('missing', `expected a PROXY header, got byte 0x${hex2(b[p]!)} at ${p}`);
      throw v1Error(p, `expected '${String.fromCharCode(...text)}'`);
    }
  }
  return p;
}

/** Where the last `port` call stopped: at its terminator. */
let portEnd = 0;

/** A decimal port, 0..65535, no leading zeros, ended by `stop` (left unread, at `portEnd`). */
function port(b: Uint8Array, p: number, end: number, stop: number): number {
  let value = 0;
  let digits = 0;
  for (; p < end; p++) {
    const c = b[p]!;
    if (c === stop && digits > 0) {
      portEnd = p;
      return value;
    }
    if (c < 0x30 || c > 0x39) throw v1Error(p, digits === 0 ? 'expected a port' : 'unexpected byte in a port');
    if (digits === 1 && value === 0) throw v1Error(p, 'leading zero in a port');
    value = value * 10 + (c - 0x30);
    if (value > 65_535) throw v1Error(p, 'port above 65535');
    digits++;
  }
  step.shortBy = digits === 0 ? 1 : 0;
  return RAN_OUT;
}

/**
 * Four decimal octets 0..255 without leading zeros, ended by a space (left unread); into
 * `octets[at..at+3]`. Returns the position of the space.
 */
function ipv4(b: Uint8Array, p: number, end: number, at: number): number {
  let octet = 0;
  let value = 0;
  let digits = 0;
  for (; p < end; p++) {
    const c = b[p]!;
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) throw v1Error(p, 'leading zero in an IPv4 address');
      value = value * 10 + (c - 0x30);
      if (value > 255) throw v1Error(p, 'IPv4 octet above 255');
      digits++;
    } else if (c === 0x2e && digits > 0 && octet < 3) {
      octets[at + octet++] = value;
      value = digits = 0;
    } else if (c === SPACE && digits > 0 && octet === 3) {
      octets[at + 3] = value;
      return p;
    } else {
      throw v1Error(p, 'invalid IPv4 address');
    }
  }
  // Each octet still to come is ".0" at the least.
  step.shortBy = (digits === 0 ? 1 : 0) + (3 - octet) * 2;
  return RAN_OUT;
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
