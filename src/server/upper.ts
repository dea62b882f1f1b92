/**
 * Upper-cases the ASCII letters `a`-`z` of `bytes` in place, exactly like Python's
 * `bytes.upper()`: every other byte (binary, UTF-8 multi-byte sequences) is left unchanged,
 * so length and order are preserved. Returns the same buffer.
 *
 * The server owns each chunk it reads, so changing it in place costs no copy. The loop works
 * on four bytes at a time where the buffer is aligned (a branch-free test per word), which
 * keeps the kernel well below the cost of the system calls around it.
 *
 * @example
 *   upperInPlace(Buffer.from('héllo')).toString() // 'HéLLO'
 */
export function upperInPlace<T extends Uint8Array>(bytes: T): T {
  const length = bytes.length;
  let i = 0;
  // A short chunk is not worth the word view (an allocation, and garbage): one byte at a time.
  if (length <= 128) {
    for (; i < length; i++) bytes[i] = upperByte(bytes[i]!);
    return bytes;
  }
  // Bytes before the first 4-byte boundary, one at a time.
  const misalignment = bytes.byteOffset & 3;
  const head = misalignment === 0 ? 0 : Math.min(length, 4 - misalignment);
  for (; i < head; i++) bytes[i] = upperByte(bytes[i]!);

  const words = (length - i) >>> 2;
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] = upperWord(view[w]!);
    i += words << 2;
  }
  for (; i < length; i++) bytes[i] = upperByte(bytes[i]!);
  return bytes;
}

function upperByte(b: number): number {
  return b >= 0x61 && b <= 0x7a ? b - 0x20 : b;
}

/**
 * Four bytes at once. For each byte: take its low 7 bits; adding 0x1f carries into bit 7
 * exactly when they are >= 0x61 ('a'), adding 0x05 exactly when they are >= 0x7b ('z' + 1).
 * A byte is a lower-case ASCII letter when the first carry happened, the second did not, and
 * its own bit 7 was clear (not a UTF-8 or binary byte). That bit, shifted down to 0x20, is
 * what separates 'a' from 'A'.
 */
function upperWord(word: number): number {
  const low7 = word & 0x7f7f7f7f;
  const atLeastA = low7 + 0x1f1f1f1f;
  const aboveZ = low7 + 0x05050505;
  const isLower = atLeastA & ~aboveZ & ~word & 0x80808080;
  return (word ^ (isLower >>> 2)) >>> 0;
}
