import { v1Error } from './errors.js';
import { RAN_OUT, SPACE, step } from './v1-steps.js';

// The states of the IPv6 reader's groups.
const START = 0; // nothing read
const LEADING_COLON = 1; // a ':' first: only "::" may start an address
const TOKEN = 2; // inside a group of hex digits (or the first octet of a dotted tail)
const COLON = 3; // a ':' that ended a group
const GAP = 4; // "::"

/**
 * An IPv6 address as inet_pton reads it (what HAProxy sends and accepts): groups of 1 to 4
 * hex digits, at most one "::" standing for one or more zero groups, optionally a dotted IPv4
 * tail for the last 32 bits (read by `dottedTail`), 128 bits in all; ended by a space (left
 * unread). Into `into[at..at+7]`. Each byte is judged when it arrives: as soon as no address
 * can begin with what was read, it throws. Returns the position of the space, or RAN_OUT.
 */
export function ipv6(b: Uint8Array, p: number, end: number, into: Uint16Array, at: number): number {
  let state = START;
  let count = 0; // groups completed
  let gap = -1; // where "::" stands, in groups
  let digits = 0;
  let value = 0; // the token read as hex
  let decimal = 0; // the same token read as a decimal octet, -1 if it cannot be one
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
          into[at + count++] = value;
          // Something must follow the colon: another group, or "::" if there is none yet.
          if (count > (gap >= 0 ? 6 : 7)) throw v1Error(p, 'too many groups in an IPv6 address');
          state = COLON;
        } else if (c === 0x2e) {
          // The tail is the last 32 bits: exactly 6 groups before it, or at most 5 and a "::".
          if (decimal < 0 || (gap >= 0 ? count > 5 : count !== 6)) throw v1Error(p, 'invalid IPv4 tail in an IPv6 address');
          return dottedTail(b, p + 1, end, into, at, count, gap, decimal << 8);
        } else if (c === SPACE) {
          into[at + count++] = value;
          if (gap < 0 && count !== 8) throw v1Error(p, 'too few groups in an IPv6 address');
          return finishIpv6(into, at, count, gap, p);
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
      default: // GAP
        if (c === SPACE) return finishIpv6(into, at, count, gap, p);
        // "::" stands for one zero group at least: 7 explicit ones at most.
        if (h < 0 || count === 7) throw v1Error(p, 'invalid IPv6 address');
        break; // a group begins
    }
    // The states that `break` out of the switch have just read a group's first hex digit.
    state = TOKEN;
    digits = 1;
    value = h;
    decimal = c <= 0x39 ? h : -1;
  }
  // The fewest bytes that complete an address from here.
  if (state === START) step.shortBy = 2; // "::"
  else if (state === LEADING_COLON || state === COLON) step.shortBy = 1; // ":" or a digit
  else if (state === TOKEN) step.shortBy = gap >= 0 || count === 7 ? 0 : 2; // "::"
  else step.shortBy = 0; // GAP
  return RAN_OUT;
}

/**
 * The dotted IPv4 tail of an IPv6 address, from just past the '.' after its first octet
 * (`head` holds that octet in its high byte; `count` groups are complete, "::" at `gap`),
 * to the space that ends the address.
 */
function dottedTail(b: Uint8Array, p: number, end: number, into: Uint16Array, at: number, count: number, gap: number, head: number): number {
  let inOctet = false; // false: just past a '.'
  let tail = 1; // octets completed
  let decimal = 0;
  for (; p < end; p++) {
    const c = b[p]!;
    if (!inOctet) {
      if (c < 0x30 || c > 0x39) throw v1Error(p, 'invalid IPv4 tail in an IPv6 address');
      inOctet = true;
      decimal = c - 0x30;
    } else if (c >= 0x30 && c <= 0x39) {
      if (decimal === 0) throw v1Error(p, 'leading zero in an IPv4 tail');
      decimal = decimal * 10 + (c - 0x30);
      if (decimal > 255) throw v1Error(p, 'IPv4 octet above 255');
    } else if (c === 0x2e && tail < 3) {
      if (tail === 1) head |= decimal;
      else {
        into[at + count++] = head;
        head = decimal << 8;
      }
      inOctet = false;
      tail++;
    } else if (c === SPACE && tail === 3) {
      into[at + count++] = head | decimal;
      return finishIpv6(into, at, count, gap, p);
    } else {
      throw v1Error(p, 'invalid IPv4 tail in an IPv6 address');
    }
  }
  step.shortBy = (inOctet ? 0 : 1) + (3 - tail) * 2; // ".0" per octet to come
  return RAN_OUT;
}

/** Moves the groups after "::" to the end and zeroes the gap; returns `p`. */
function finishIpv6(into: Uint16Array, at: number, count: number, gap: number, p: number): number {
  if (gap >= 0) {
    const after = count - gap;
    for (let i = 1; i <= after; i++) into[at + 8 - i] = into[at + count - i]!;
    for (let i = gap; i < 8 - after; i++) into[at + i] = 0;
  }
  return p;
}

/** A hex digit's value, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}
