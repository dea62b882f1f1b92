/**
 * HAProxy's PROXY protocol header, version 1 (one line of text) and version 2 (binary), parsed
 * exactly as its specification says (doc/proxy-protocol.txt, revision 2020/03/05): a proxy in
 * front of the server puts it at the start of each connection to say whom it came from.
 *
 * The parser is incremental in the only way that matters for a server reading a socket: it
 * takes the bytes received so far and says whether they hold a whole header (and how many
 * bytes it took, so that the next byte is the client's first data byte), or are still a valid
 * beginning of one (`INCOMPLETE`: read on), or can no longer be one (`ProxyHeaderError`, at the
 * first byte that rules it out, so that garbage is refused at once; the one thing it cannot
 * judge early is a v2 CRC32C checksum, checked when the header is whole). It keeps no state
 * between calls: call it again with all the bytes so far (each call reads the fixed part and
 * hops over the TLVs received so far, so a v2 header dribbled in byte by byte costs the
 * square of its TLV count: the server's header timeout bounds that). An incomplete header
 * allocates nothing; a complete one allocates its result only.
 *
 * Addresses are written as Node writes a socket's `remoteAddress` (libuv's inet_ntop:
 * lower-case, the longest run of zero groups as `::`, `::ffff:1.2.3.4`), however the sender
 * wrote them, so that a header's address and a socket's peer compare as text.
 */

/** Which header versions a listener accepts (`any`: both, told apart by their first byte). */
export const PROXY_PROTOCOL_MODES = ['v1', 'v2', 'any'] as const;
export type ProxyProtocolMode = (typeof PROXY_PROTOCOL_MODES)[number];

/** Why a connection's PROXY header was refused: the reasons the server counts. */
export const PROXY_HEADER_FAILURES = ['missing', 'malformed', 'unsupported', 'timeout', 'untrusted'] as const;

/**
 * - `missing`: the bytes do not start like a header of the allowed versions (a client that
 *   speaks first without one, or the other version);
 * - `malformed`: they did, then broke the specification;
 * - `unsupported`: a valid header this parser does not handle (a v2 version other than 2);
 * - `timeout`: the header did not arrive in time (the server's, not the parser's);
 * - `untrusted`: the peer may not send a header (the server's `--proxy-protocol-from`).
 */
export type ProxyHeaderFailure = (typeof PROXY_HEADER_FAILURES)[number];

/**
 * A PROXY header that cannot be accepted. `code` is stable; `reason` says which failure it is;
 * `message` is one line for a log, naming the version and the byte or field at fault.
 *
 * @example
 *   try { parseProxyHeader(bytes, 'v2'); } catch (error) {
 *     if (error instanceof ProxyHeaderError) stats.headerFailures[error.reason]++;
 *   }
 */
export class ProxyHeaderError extends Error {
  readonly code = 'EPROXYHEADER';
  constructor(
    readonly reason: ProxyHeaderFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/** Returned while the bytes so far are a valid beginning of a header: read on. */
export const INCOMPLETE: unique symbol = Symbol('incomplete PROXY header');

/** An address and port; for `unix` the path (`@name` for an abstract socket) and port 0. */
export interface ProxyAddress {
  address: string;
  port: number;
}

/** A v2 Type-Length-Value field. `value` is the header's bytes, copied out of the input. */
export interface ProxyTlv {
  type: number;
  value: Buffer;
}

/**
 * A complete header. `source` is the client the proxy relayed, `destination` the address it
 * was connecting to. Both are undefined when the header gives no addresses: v1 `UNKNOWN`, v2
 * with an unspecified family or transport, and v2 `LOCAL` (a proxy's own connection, such as a
 * health check: the spec says to use the socket's real endpoints), whose `family` is still the
 * one it names.
 */
export interface ProxyHeader {
  version: 1 | 2;
  command: 'proxy' | 'local';
  family: 'tcp4' | 'tcp6' | 'unix' | 'udp4' | 'udp6' | 'unknown';
  source: ProxyAddress | undefined;
  destination: ProxyAddress | undefined;
  /** v2's TLVs in header order (v1 has none); `decodeProxyTlvs` reads the registered ones. */
  tlvs: ProxyTlv[];
  /** Bytes the header took: the client's data starts at this offset. */
  length: number;
}

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
 * Reads a header from the start of `bytes` (everything received so far on the connection).
 *
 * @returns the header, whose `length` says where the client's data starts; or `INCOMPLETE`
 *   while `bytes` is a valid beginning of a header (call again when more has arrived)
 * @throws ProxyHeaderError as soon as `bytes` cannot be the beginning of a header
 *
 * @example
 *   const header = parseProxyHeader(Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /'), 'any');
 *   // { version: 1, command: 'proxy', family: 'tcp4', source: { address: '192.168.0.1', port: 56324 },
 *   //   destination: { address: '192.168.0.11', port: 443 }, tlvs: [], length: 47 }
 *   parseProxyHeader(Buffer.from('PROXY TCP4 192.168.0'), 'v1') // INCOMPLETE
 *   parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'), 'any')  // throws ProxyHeaderError, reason 'missing'
 */
export function parseProxyHeader(bytes: Uint8Array, mode: ProxyProtocolMode): ProxyHeader | typeof INCOMPLETE {
  const n = bytes.length;
  if (n === 0) return INCOMPLETE;
  // The two versions differ in their first byte ('P', CR): no guessing between them.
  if (bytes[0] === 0x50 && mode !== 'v2') return parseV1(bytes, n);
  if (bytes[0] === 0x0d && mode !== 'v1') return parseV2(bytes, n);
  const expected = mode === 'v1' ? "a PROXY v1 line ('PROXY ...')" : mode === 'v2' ? 'the PROXY v2 signature' : 'a PROXY header (v1 or v2)';
  throw new ProxyHeaderError('missing', `expected ${expected}, got byte 0x${hex2(bytes[0]!)} first`);
}

// ---------------------------------------------------------------------------------------------
// Version 1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF, or
// "PROXY" SP "UNKNOWN" [SP anything] CRLF; at most 107 bytes with the CRLF.

/** The longest v1 line a receiver must take, CRLF included (section 2.1). */
export const PROXY_V1_MAX_LENGTH = 107;

const V1_PREFIX = ascii('PROXY');
const TCP = ascii('TCP');
const UNKNOWN = ascii('NKNOWN');
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/** A step below ran out of bytes with everything so far valid; `shortBy` is then set. */
const RAN_OUT = -1;
/** After RAN_OUT: the fewest further bytes that can complete what the step was reading. */
let shortBy = 0;

// Where the v1 address steps leave what they read, so that an incomplete line allocates
// nothing (a parse is synchronous, so one scratch serves every call): IPv4 octets (source at
// 0, destination at 4), IPv6 groups (source 0, destination 8).
const octets = new Uint8Array(8);
const groups = new Uint16Array(16);

function parseV1(b: Uint8Array, n: number): ProxyHeader | typeof INCOMPLETE {
  // Nothing past byte 107 is looked at: a line that has not ended by then never will.
  const end = n < PROXY_V1_MAX_LENGTH ? n : PROXY_V1_MAX_LENGTH;
  // "PROXY" is what makes it a v1 header at all (section 2.2: the first 5 bytes).
  let p = literal(b, 0, end, V1_PREFIX, 'missing');
  if (p === RAN_OUT) return ranOut(end, shortBy + 10);
  if (p === end) return ranOut(end, 10); // " UNKNOWN\r\n" is the shortest rest
  if (b[p] !== SPACE) throw v1Error(p, 'expected one space after PROXY');
  p++;
  if (p === end) return ranOut(end, 9);
  if (b[p] === 0x55 /* U */) return unknownLine(b, p + 1, end);
  if (b[p] !== 0x54 /* T */) throw v1Error(p, 'expected TCP4, TCP6 or UNKNOWN');
  p = literal(b, p, end, TCP, 'malformed');
  if (p === RAN_OUT) return ranOut(end, shortBy + 13);
  if (p === end) return ranOut(end, 13); // "6 :: :: 0 0\r\n"
  const six = b[p] === 0x36;
  if (!six && b[p] !== 0x34) throw v1Error(p, 'expected TCP4, TCP6 or UNKNOWN');
  p++;
  const shortest = six ? 2 : 7; // "::" or "0.0.0.0"
  if (p === end) return ranOut(end, 1 + shortest + 1 + shortest + 6);
  if (b[p] !== SPACE) throw v1Error(p, 'expected one space after the protocol');
  p++;

  p = six ? ipv6(b, p, end, 0) : ipv4(b, p, end, 0);
  if (p === RAN_OUT) return ranOut(end, shortBy + 1 + shortest + 6);
  p++; // the space that ended the address
  p = six ? ipv6(b, p, end, 8) : ipv4(b, p, end, 4);
  if (p === RAN_OUT) return ranOut(end, shortBy + 6);
  p++;
  const sourcePort = port(b, p, end, SPACE);
  if (sourcePort === RAN_OUT) return ranOut(end, shortBy + 4);
  p = portEnd + 1;
  const destinationPort = port(b, p, end, CR);
  if (destinationPort === RAN_OUT) return ranOut(end, shortBy + 2);
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
  if (p === RAN_OUT) return ranOut(end, shortBy + 2);
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
      shortBy = text.length - i;
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
  shortBy = digits === 0 ? 1 : 0;
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
  shortBy = (digits === 0 ? 1 : 0) + (3 - octet) * 2;
  return RAN_OUT;
}

// The states of the IPv6 reader.
const START = 0; // nothing read
const LEADING_COLON = 1; // a ':' first: only "::" may start an address
const TOKEN = 2; // inside a group of hex digits (or the first octet of a dotted tail)
const COLON = 3; // a ':' that ended a group
const GAP = 4; // "::"
const TAIL_DOT = 5; // a '.' in a dotted IPv4 tail
const TAIL_OCTET = 6; // inside an octet of the tail after the first

/**
 * An IPv6 address as inet_pton reads it (what HAProxy sends and accepts): groups of 1 to 4
 * hex digits, at most one "::" standing for one or more zero groups, optionally a dotted IPv4
 * tail for the last 32 bits, 128 bits in all; ended by a space (left unread). Into
 * `groups[at..at+7]`. Each byte is judged when it arrives: as soon as no address can
 * begin with what was read, it throws.
 */
function ipv6(b: Uint8Array, p: number, end: number, at: number): number {
  let state = START;
  let count = 0; // groups completed
  let gap = -1; // where "::" stands, in groups
  let digits = 0;
  let value = 0; // the token read as hex
  let decimal = 0; // the same token read as a decimal octet, -1 if it cannot be one
  let tail = 0; // octets of a dotted tail completed
  let head = 0; // the tail's first two octets, as a group
  for (; p < end; p++) {
    const c = b[p]!;
    const h = hexDigit(c);
    switch (state) {
      case START:
        if (c === 0x3a) state = LEADING_COLON;
        else if (h < 0) throw v1Error(p, 'invalid IPv6 address');
        else break; // a group begins
        continue;
      case LEADING_COLON:
        if (c !== 0x3a) throw v1Error(p, 'invalid IPv6 address');
        gap = 0;
        state = GAP;
        continue;
      case TOKEN:
        if (h >= 0) {
          if (digits === 4) throw v1Error(p, 'more than 4 hex digits in an IPv6 group');
          digits++;
          value = value * 16 + h;
          // An octet has no hex letters, no leading zero and is at most 255.
          decimal = decimal < 0 || c > 0x39 || decimal === 0 ? -1 : decimal * 10 + h;
          if (decimal > 255) decimal = -1;
        } else if (c === 0x3a) {
          groups[at + count++] = value;
          // Something must follow the colon: another group, or "::" if there is none yet.
          if (count > (gap >= 0 ? 6 : 7)) throw v1Error(p, 'too many groups in an IPv6 address');
          state = COLON;
        } else if (c === 0x2e) {
          // The tail is the last 32 bits: exactly 6 groups before it, or at most 5 and a "::".
          if (decimal < 0 || (gap >= 0 ? count > 5 : count !== 6)) throw v1Error(p, 'invalid IPv4 tail in an IPv6 address');
          head = decimal << 8;
          state = TAIL_DOT;
          tail = 1;
        } else if (c === SPACE) {
          groups[at + count++] = value;
          if (gap < 0 && count !== 8) throw v1Error(p, 'too few groups in an IPv6 address');
          return finishIpv6(at, count, gap, p);
        } else {
          throw v1Error(p, 'invalid IPv6 address');
        }
        continue;
      case COLON:
        if (c === 0x3a) {
          if (gap >= 0) throw v1Error(p, 'a second "::" in an IPv6 address');
          gap = count;
          state = GAP;
        } else if (h < 0) {
          throw v1Error(p, 'invalid IPv6 address');
        } else {
          break; // a group begins
        }
        continue;
      case GAP:
        if (c === SPACE) return finishIpv6(at, count, gap, p);
        // "::" stands for one zero group at least: 7 explicit ones at most.
        if (h < 0 || count === 7) throw v1Error(p, 'invalid IPv6 address');
        break; // a group begins
      case TAIL_DOT:
        if (c < 0x30 || c > 0x39) throw v1Error(p, 'invalid IPv4 tail in an IPv6 address');
        state = TAIL_OCTET;
        decimal = c - 0x30;
        continue;
      default: // TAIL_OCTET
        if (c >= 0x30 && c <= 0x39) {
          if (decimal === 0) throw v1Error(p, 'leading zero in an IPv4 tail');
          decimal = decimal * 10 + (c - 0x30);
          if (decimal > 255) throw v1Error(p, 'IPv4 octet above 255');
        } else if (c === 0x2e && tail < 3) {
          if (tail === 1) head |= decimal;
          else {
            groups[at + count++] = head;
            head = decimal << 8;
          }
          state = TAIL_DOT;
          tail++;
        } else if (c === SPACE && tail === 3) {
          groups[at + count++] = head | decimal;
          return finishIpv6(at, count, gap, p);
        } else {
          throw v1Error(p, 'invalid IPv4 tail in an IPv6 address');
        }
        continue;
    }
    // The states that `break` out of the switch have just read a group's first hex digit.
    state = TOKEN;
    digits = 1;
    value = h;
    decimal = c <= 0x39 ? h : -1;
  }
  // The fewest bytes that complete an address from here.
  if (state === START) shortBy = 2; // "::"
  else if (state === LEADING_COLON || state === COLON) shortBy = 1; // ":" or a digit
  else if (state === TOKEN) shortBy = gap >= 0 || count === 7 ? 0 : 2; // "::"
  else if (state === GAP) shortBy = 0;
  else shortBy = (state === TAIL_DOT ? 1 : 0) + (3 - tail) * 2; // ".0" per octet to come
  return RAN_OUT;
}

/** Moves the groups after "::" to the end and zeroes the gap; returns `p`. */
function finishIpv6(at: number, count: number, gap: number, p: number): number {
  if (gap >= 0) {
    const after = count - gap;
    for (let i = 1; i <= after; i++) groups[at + 8 - i] = groups[at + count - i]!;
    for (let i = gap; i < 8 - after; i++) groups[at + i] = 0;
  }
  return p;
}

function v1Error(p: number, what: string): ProxyHeaderError {
  return new ProxyHeaderError('malformed', `PROXY v1: ${what} at byte ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Version 2: a 16-byte block (signature, version and command, family and transport, length),
// then `length` bytes: the addresses, then TLVs.

const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
/** Address bytes by family (AF_INET, AF_INET6, AF_UNIX), with a transport given. */
const ADDRESS_BYTES = [0, 12, 36, 216] as const;
const FAMILIES = [
  ['unknown', 'unknown', 'unknown'],
  ['unknown', 'tcp4', 'udp4'],
  ['unknown', 'tcp6', 'udp6'],
  ['unknown', 'unix', 'unix'],
] as const;

function parseV2(b: Uint8Array, n: number): ProxyHeader | typeof INCOMPLETE {
  const signature = n < 12 ? n : 12;
  for (let i = 0; i < signature; i++) {
    if (b[i] !== V2_SIGNATURE[i]) throw new ProxyHeaderError('missing', `expected the PROXY v2 signature, got byte 0x${hex2(b[i]!)} at ${i}`);
  }
  if (n < 13) return INCOMPLETE;
  const version = b[12]! >> 4;
  if (version !== 2) throw new ProxyHeaderError('unsupported', `PROXY v2: protocol version ${version}; only version 2 is defined`);
  const command = b[12]! & 0x0f;
  if (command > 1) throw v2Error(`unassigned command 0x${command.toString(16)} (0 LOCAL and 1 PROXY are defined)`);
  if (n < 14) return INCOMPLETE;
  const family = b[13]! >> 4;
  const transport = b[13]! & 0x0f;
  if (family > 3 || transport > 2) throw v2Error(`unassigned family and transport byte 0x${hex2(b[13]!)}`);
  if (n < 16) return INCOMPLETE;
  const total = 16 + ((b[14]! << 8) | b[15]!);
  // With either half unspecified the spec gives no address layout: what follows is TLVs.
  const addressBytes = transport === 0 ? 0 : ADDRESS_BYTES[family]!;
  if (total - 16 < addressBytes) throw v2Error(`length ${total - 16} is shorter than the ${addressBytes} address bytes of family byte 0x${hex2(b[13]!)}`);
  const tlvStart = 16 + addressBytes;
  // TLVs are checked as far as they have arrived, so that a broken one is refused at once.
  const crcAt = checkTlvs(b, tlvStart, total, n < total ? n : total);
  if (n < total) return INCOMPLETE;
  if (crcAt >= 0 && crc32c(b, total, crcAt) !== readU32(b, crcAt)) throw v2Error('CRC32C checksum does not match');

  let source: ProxyAddress | undefined;
  let destination: ProxyAddress | undefined;
  const kind = FAMILIES[family]![transport]!;
  if (command === 1 && kind !== 'unknown') {
    if (family === 3) {
      source = { address: unixPath(b, 16), port: 0 };
      destination = { address: unixPath(b, 124), port: 0 };
    } else if (family === 1) {
      source = { address: formatIpv4(b, 16), port: (b[24]! << 8) | b[25]! };
      destination = { address: formatIpv4(b, 20), port: (b[26]! << 8) | b[27]! };
    } else {
      for (let i = 0; i < 16; i++) groups[i] = (b[16 + 2 * i]! << 8) | b[17 + 2 * i]!;
      source = { address: formatIpv6(groups, 0), port: (b[48]! << 8) | b[49]! };
      destination = { address: formatIpv6(groups, 8), port: (b[50]! << 8) | b[51]! };
    }
  }
  return { version: 2, command: command === 1 ? 'proxy' : 'local', family: kind, source, destination, tlvs: collectTlvs(b, tlvStart, total), length: total };
}

/**
 * Checks the TLVs in [p, total) as far as they have arrived (`available`), so that a header no
 * bytes could still complete is refused at once: each TLV needs its type, its 2-byte length and
 * its value within the header, leaving 0 or at least 3 bytes (a TLV's least) after it; CRC32C
 * is 4 bytes and appears once; UNIQUE_ID is at most 128 bytes; SSL holds its 5-byte client and
 * verify fields, then sub-TLVs that fill it exactly. What a type alone, or a length's high byte,
 * already rules out is refused then. Returns where the CRC32C value is, or -1.
 */
function checkTlvs(b: Uint8Array, p: number, total: number, available: number): number {
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
function collectTlvs(b: Uint8Array, p: number, total: number): ProxyTlv[] {
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

function v2Error(what: string): ProxyHeaderError {
  return new ProxyHeaderError('malformed', `PROXY v2: ${what}`);
}

/** A 108-byte sun_path: up to its first NUL; an abstract name (leading NUL) as `@name`. */
function unixPath(b: Uint8Array, at: number): string {
  const abstract = b[at] === 0;
  let end = abstract ? at + 1 : at;
  while (end < at + 108 && b[end] !== 0) end++;
  const path = Buffer.from(b.buffer, b.byteOffset + at + (abstract ? 1 : 0), end - at - (abstract ? 1 : 0)).toString('utf8');
  return abstract ? `@${path}` : path;
}

// ---------------------------------------------------------------------------------------------
// The registered TLVs, decoded.

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

// ---------------------------------------------------------------------------------------------
// Shared pieces.

function formatIpv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * Eight groups as libuv's inet_ntop writes them (Node's `remoteAddress`): lower-case hex
 * without leading zeros, the longest run of two or more zero groups (the first if tied) as
 * "::", and the last 32 bits dotted after "::ffff:" (IPv4-mapped) or "::" (IPv4-compatible).
 */
function formatIpv6(g: Uint16Array, at: number): string {
  let best = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (g[at + i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[at + j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestLength < 2) best = -1;
  if (best === 0 && (bestLength === 6 || (bestLength === 5 && g[at + 5] === 0xffff))) {
    const low = g[at + 6]!;
    const high = g[at + 7]!;
    return `${bestLength === 5 ? '::ffff:' : '::'}${low >> 8}.${low & 0xff}.${high >> 8}.${high & 0xff}`;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      text += '::';
      i += bestLength - 1;
    } else {
      text += (text === '' || text.endsWith(':') ? '' : ':') + g[at + i]!.toString(16);
    }
  }
  return text;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** CRC32C (Castagnoli, reflected 0x82F63B78) lookup table. */
const CRC32C_TABLE = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i;
  for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  CRC32C_TABLE[i] = crc >>> 0;
}

/**
 * The CRC32C of b[0, total) with the 4 checksum bytes at `zeroAt` read as zeros (section
 * 2.2.3: the sender computed it with the field zeroed).
 */
function crc32c(b: Uint8Array, total: number, zeroAt: number): number {
  let crc = 0xffffffff;
  for (let i = 0; i < total; i++) {
    const byte = i >= zeroAt && i < zeroAt + 4 ? 0 : b[i]!;
    crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
