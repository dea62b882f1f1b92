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
 * allocates nothing; a complete one allocates its result only. Addresses come out as Node
 * writes a socket's (addresses.ts).
 */
import { hex2, ProxyHeaderError } from './errors.js';
import { INCOMPLETE, type ProxyHeader, type ProxyProtocolMode } from './header.js';
import { parseV1 } from './v1.js';
import { parseV2 } from './v2.js';

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
