/**
 * How the contenders of a benchmark take turns, and the median of what their turns gave.
 *
 * Why turns: on this kind of machine (a VM on a shared host) the whole echo loop slows down
 * by up to 1.5x for seconds to tens of seconds at a time, while a pure-CPU loop on the same
 * cores does not. Two runs a few seconds apart then differ by -13% to +19% with the same
 * contender on both sides. Contenders that are all up and take short turns in the order
 * A B C C B A ... land in the same slow and fast stretches, and a steady drift favours none.
 */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The median: the middle value, or the mean of the two middle ones.
 *
 * @example
 *   median([3, 1, 2]) // 2
 *   median([4, 1, 2, 3]) // 2.5
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * `rounds` passes over `items`, every other one backwards: A B C C B A A B C ...
 *
 * @example
 *   alternating(['a', 'b'], 2) // ['a', 'b', 'b', 'a']
 */
export function alternating<T>(items: readonly T[], rounds: number): T[] {
  const order: T[] = [];
  for (let round = 0; round < rounds; round++) order.push(...(round % 2 === 0 ? items : [...items].reverse()));
  return order;
}

/** How contenders take turns: each is let run, settles, is measured, and makes way. */
export interface TurnPlan<T> {
  /** Turns each contender gets. */
  turns: number;
  /** Measured time of one turn. */
  turnMs: number;
  /** Unmeasured start of each turn: what was left from the last turn is answered first. */
  settleMs: number;
  /** Lets a contender run (thaw it, switch it on). */
  start(contender: T): void | Promise<void>;
  /** Makes it stop again (freeze it, switch it off). */
  stop(contender: T): void | Promise<void>;
  /** Called after the settling time; the function it returns is called (and awaited) when the turn ends. */
  measure(contender: T): () => void | Promise<void>;
}

/**
 * Gives each contender `plan.turns` turns in alternating order (A B C C B A ...), stopping one
 * and starting the next only when the turn passes to another; all are stopped at the end,
 * also on failure.
 *
 * @example
 *   await takeTurns([a, b], { turns: 4, turnMs: 500, settleMs: 200,
 *     start: (c) => c.thaw(), stop: (c) => c.freeze(), measure: (c) => countFrom(c) });
 */
export async function takeTurns<T>(contenders: readonly T[], plan: TurnPlan<T>): Promise<void> {
  let active: T | undefined;
  try {
    for (const next of alternating(contenders, plan.turns)) {
      if (next !== active) {
        if (active !== undefined) await plan.stop(active);
        active = undefined;
        await plan.start(next);
        active = next;
      }
      await sleep(plan.settleMs);
      const done = plan.measure(next);
      await sleep(plan.turnMs);
      await done();
    }
  } finally {
    if (active !== undefined) await plan.stop(active);
  }
}
