/**
 * Addresses are written as Node writes a socket's `remoteAddress` (libuv's inet_ntop:
 * lower-case, the longest run of zero groups as `::`, `::ffff:1.2.3.4`), however the sender
 * wrote them, so that a header's address and a socket's peer compare as text.
 */

/** Four octets at `b[at..at+3]`, dotted. */
export function formatIpv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * Eight groups as libuv's inet_ntop writes them (Node's `remoteAddress`): lower-case hex
 * without leading zeros, the longest run of two or more zero groups (the first if tied) as
 * "::", and the last 32 bits dotted after "::ffff:" (IPv4-mapped) or "::" (IPv4-compatible).
 */
export function formatIpv6(g: Uint16Array, at: number): string {
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

/** A 108-byte sun_path: up to its first NUL; an abstract name (leading NUL) as `@name`. */
export function unixPath(b: Uint8Array, at: number): string {
  const abstract = b[at] === 0;
  let end = abstract ? at + 1 : at;
  while (end < at + 108 && b[end] !== 0) end++;
  const path = Buffer.from(b.buffer, b.byteOffset + at + (abstract ? 1 : 0), end - at - (abstract ? 1 : 0)).toString('utf8');
  return abstract ? `@${path}` : path;
}
