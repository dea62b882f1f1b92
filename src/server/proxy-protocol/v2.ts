import { formatIpv4, formatIpv6, unixPath } from './addresses.js';
import { crc32c } from './crc32c.js';
import { hex2, ProxyHeaderError, v2Error } from './errors.js';
import { INCOMPLETE, type ProxyAddress, type ProxyHeader } from './header.js';
import { checkTlvs, collectTlvs } from './tlvs.js';

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

/** IPv6 groups read out of the address block for formatting (a parse is synchronous: one scratch serves every call). */
const groups = new Uint16Array(16);

/** A v2 header from the start of `b` (its first byte is CR), `n` bytes received so far. */
export function parseV2(b: Uint8Array, n: number): ProxyHeader | typeof INCOMPLETE {
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

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
