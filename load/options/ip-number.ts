import { isIP } from 'node:net';

/** An IP address as a number, for ranges: 32 bits for IPv4, 128 for IPv6. */
export interface IpNumber {
  family: 4 | 6;
  value: bigint;
}

/**
 * An address as a number, or undefined if `text` is not an IPv4 or IPv6 address (one with a
 * zone, `fe80::1%eth0`, is not: a zone is no part of the number).
 *
 * @example
 *   ipToNumber('127.0.0.2') // { family: 4, value: 2130706434n }
 *   ipToNumber('::ffff:127.0.0.1') // { family: 6, value: 281472812449793n }
 */
export function ipToNumber(text: string): IpNumber | undefined {
  const family = isIP(text);
  if (family === 4) return { family, value: ipv4Value(text) };
  if (family !== 6 || text.includes('%')) return undefined;
  // Node's isIP has checked the shape: at most one '::', eight groups once expanded.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  const hex = tail === null ? text : `${text.slice(0, tail.index)}${hexGroups(ipv4Value(tail[1]!))}`;
  const [left = '', right] = hex.split('::');
  const head = left === '' ? [] : left.split(':');
  const rest = right === undefined ? [] : right === '' ? [] : right.split(':');
  const groups = right === undefined ? head : [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16));
  return { family, value };
}

/**
 * The address of a number, as Node and the kernel write it: dotted IPv4, or IPv6 in lower
 * case with the longest run of zero groups (two or more) as `::` (RFC 5952).
 *
 * @example
 *   numberToIp({ family: 6, value: 1n }) // '::1'
 */
export function numberToIp({ family, value }: IpNumber): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestAt = -1;
  let bestLength = 1;
  for (let at = 0; at < 8; ) {
    let end = at;
    while (end < 8 && groups[end] === 0) end++;
    if (end - at > bestLength) [bestAt, bestLength] = [at, end - at];
    at = end === at ? at + 1 : end;
  }
  const text = (part: number[]) => part.map((group) => group.toString(16)).join(':');
  if (bestAt < 0) return text(groups);
  return `${text(groups.slice(0, bestAt))}::${text(groups.slice(bestAt + bestLength))}`;
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n);
}

/** The low 32 bits of an IPv4 address as two IPv6 groups. */
function hexGroups(value: bigint): string {
  return `${(value >> 16n).toString(16)}:${(value & 0xffffn).toString(16)}`;
}
