/**
 * The frame every benchmark in this folder runs in: its options, its turns, its medians, and
 * its way out (an error is one line and exit code 1; every child is ended).
 *
 * Why turns: on this kind of machine (a VM on a shared host) the whole echo loop slows down
 * by up to 1.5x for seconds to tens of seconds at a time, while a pure-CPU loop on the same
 * cores does not. Two runs a few seconds apart then differ by -13% to +19% with the same
 * contender on both sides. Contenders that are all up and take short turns in the order
 * A B C C B A ... land in the same slow and fast stretches, and a steady drift favours none.
 */
import { parseArgs } from 'node:util';
import { OptionError, parseDuration, parseInteger } from '../../src/parse-option.js';
import { stopAll } from './children.js';

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

/** One command-line option of a benchmark; all are `--name value` but the flags. */
export type OptionSpec = { help: string; default?: string; flag?: false } | { help: string; flag: true };
type Values<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends { flag: true } ? boolean : S[K] extends { default: string } ? string : string | undefined;
};

/**
 * Reads the benchmark's options from the command line and turns them into its settings with
 * `read`. `--help` prints `usage` and the options and exits 0; an unknown option or a bad value
 * (an `OptionError` from `read`, such as `count` throws) prints one line and exits 2.
 *
 * @example
 *   const { rounds } = readOptions('npm run bench -- [options]', { rounds: { help: 'rounds', default: '3' } },
 *     (values) => ({ rounds: count(values.rounds, 'rounds') }));
 */
export function readOptions<S extends Record<string, OptionSpec>, R>(usage: string, spec: S, read: (values: Values<S>) => R): R {
  const options: Record<string, { type: 'string' | 'boolean'; default?: string }> = { help: { type: 'boolean' } };
  for (const [name, option] of Object.entries(spec)) {
    options[name] = option.flag ? { type: 'boolean' } : { type: 'string', ...(option.default === undefined ? {} : { default: option.default }) };
  }
  try {
    const { values } = parseArgs({ options, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> };
    if (values.help) {
      const lines = Object.entries(spec).map(([name, option]) => {
        const flag = option.flag ? `--${name}` : `--${name} <value>`;
        return `  ${flag.padEnd(24)} ${option.help}${!option.flag && option.default !== undefined ? ` (default: ${option.default})` : ''}`;
      });
      process.stdout.write(`usage: ${usage}\n${lines.join('\n')}\n`);
      process.exit(0);
    }
    for (const [name, option] of Object.entries(spec)) if (option.flag) values[name] ??= false;
    return read(values as Values<S>);
  } catch (error) {
    // parseArgs throws TypeErrors with a code (ERR_PARSE_ARGS_UNKNOWN_OPTION ...): bad usage too.
    const code = (error as { code?: unknown }).code;
    if (!(error instanceof OptionError) && !(typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) throw error;
    process.stderr.write(`${(error as Error).message}\nusage: ${usage} (--help lists the options)\n`);
    process.exit(2);
  }
}

/** A whole number of at least `min` from an option's text. */
export const count = (text: string, name: string, min = 1) => parseInteger(text, name, min);

/** Milliseconds from an option's duration text (`500ms`, `5s`, `1m`). */
export const duration = (text: string, name: string) => parseDuration(text, name);

/**
 * Runs a benchmark's `main` and exits: 0 when it is done, 1 with one line on stderr when it
 * fails (the stack too with BENCH_DEBUG=1), 130 on SIGINT or SIGTERM; every child it started
 * is ended first.
 *
 * @example
 *   runBenchmark('saturation', main);
 */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  const leave = (code: number) => void stopAll().finally(() => process.exit(code));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => leave(130));
  main().then(
    () => leave(0),
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      if (process.env.BENCH_DEBUG) process.stderr.write(`${String((error as Error).stack)}\n`);
      leave(1);
    },
  );
}
