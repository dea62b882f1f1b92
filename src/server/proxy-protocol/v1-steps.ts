/**
 * What the steps that read a v1 line (v1.ts, ipv6-text.ts) share. A step returns the position
 * it stopped at, or RAN_OUT when the bytes ended with everything so far valid; it then leaves
 * in `step.shortBy` the fewest further bytes that can complete what it was reading, so that a
 * line no completion fits in 107 bytes is refused at once. A parse is synchronous, so one
 * record serves every call, and an incomplete line allocates nothing.
 */

/** A step ran out of bytes with everything so far valid; `step.shortBy` is then set. */
export const RAN_OUT = -1;

/** After RAN_OUT: `shortBy`, the fewest further bytes that can complete what the step was reading. */
export const step = { shortBy: 0 };

/** The one separator v1 allows between its fields. */
export const SPACE = 0x20;
