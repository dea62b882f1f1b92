/** Bytes one socket read can deliver at most: the size of each worker's reused read buffer. */
export const READ_BUFFER_SIZE = 64 * 1024;

/**
 * Everything a connection sends and expects, built once per worker and shared read-only by all
 * its connections, so the data path never builds or copies a message.
 */
export interface Payloads {
  /** One message as sent. */
  readonly message: Buffer;
  /** `pipeline` messages back to back: a burst goes out in one write (a `subarray` of it). */
  readonly burst: Buffer;
  /**
   * The expected echo stream, upper-cased and repeated so that any read (at most
   * READ_BUFFER_SIZE bytes) starting at any offset inside a message fits in it: one
   * `Buffer.compare` checks a whole read, however it cuts across message boundaries.
   */
  readonly expected: Buffer;
}

/**
 * Upper-cases ASCII `a`-`z` only, byte for byte, as the server does (Python's `bytes.upper()`);
 * every other byte, including UTF-8 multi-byte sequences, stays as it is.
 *
 * @example
 *   upperAscii(Buffer.from('héllo')).toString() // 'HéLLO'
 */
export function upperAscii(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const byte = out[i]!;
    if (byte >= 0x61 && byte <= 0x7a) out[i] = byte - 0x20;
  }
  return out;
}

/** Builds the shared buffers for one message and a pipeline depth. */
export function buildPayloads(message: Uint8Array, pipeline: number): Payloads {
  const size = message.length;
  const one = Buffer.from(message);
  const burst = Buffer.allocUnsafe(size * pipeline);
  for (let i = 0; i < pipeline; i++) one.copy(burst, i * size);
  const echo = upperAscii(one);
  const copies = Math.ceil((size + READ_BUFFER_SIZE) / size);
  const expected = Buffer.allocUnsafe(size * copies);
  for (let i = 0; i < copies; i++) echo.copy(expected, i * size);
  return { message: one, burst, expected };
}
