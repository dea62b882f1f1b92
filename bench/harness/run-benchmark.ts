import { stopAll } from './children.js';

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
