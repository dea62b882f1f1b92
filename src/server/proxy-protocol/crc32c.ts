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
export function crc32c(b: Uint8Array, total: number, zeroAt: number): number {
  let crc = 0xffffffff;
  for (let i = 0; i < total; i++) {
    const byte = i >= zeroAt && i < zeroAt + 4 ? 0 : b[i]!;
    crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
