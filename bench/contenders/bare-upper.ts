/**
 * The baselines' upper-casing (bare-server.ts, bare-tls-server.ts): the plain byte loop a
 * first version would write, the same in both so that they do the same work.
 */
export function upperBytes(chunk: Buffer): Buffer {
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i]!;
    if (b >= 0x61 && b <= 0x7a) chunk[i] = b - 0x20;
  }
  return chunk;
}
