/**
 * How an echo-load run or merge ends: the exit codes (which `--help` shows from here), the one
 * line printed for a failure, and the verdict on a result.
 */
import type { LoadResult } from '../result/result.js';
import { checkThresholds, describeCrossed } from '../verdict/threshold-check.js';
import type { Threshold } from '../verdict/threshold.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** A `--threshold` crossed: k6 exits 99 for it too, so CI scripts written for k6 read it alike. */
export const EXIT_THRESHOLD = 99;
export const EXIT_INTERRUPTED = 130;

/** What each code means, as `--help` shows it (program.ts). */
export const EXIT_CODES_HELP =
  `\nExit codes: ${EXIT_OK} every connection held and every echo exact and in time; ${EXIT_FAILED} errors (refused, handshake failures, resets, timeouts, mismatches);\n` +
  `${EXIT_USAGE} bad options (or bad merge input); ${EXIT_THRESHOLD} a --threshold crossed; ${EXIT_INTERRUPTED} interrupted (SIGINT), after printing the report of what was measured.`;

/**
 * Says what went wrong on stderr, in one line, and gives the exit code to end with.
 *
 * @example
 *   return fail(`cannot write --json-file ${file}: EACCES`, EXIT_FAILED);
 */
export function fail(message: string, code: number): number {
  process.stderr.write(`echo-load: ${message}\n`);
  return code;
}

/**
 * Checks the thresholds into the result (the JSON carries them), says on stderr which crossed
 * and by how much, and gives the exit code. A threshold on `errors` is the user's tolerance
 * for errors, and replaces the default rule that any error fails the run.
 *
 * @example
 *   const code = judge(result, options.thresholds); // EXIT_OK, EXIT_FAILED or EXIT_THRESHOLD
 */
export function judge(result: LoadResult, thresholds: readonly Threshold[]): number {
  result.thresholds = checkThresholds(result, thresholds);
  const crossed = result.thresholds.filter((outcome) => !outcome.passed);
  for (const outcome of crossed) process.stderr.write(`echo-load: ${describeCrossed(outcome)}\n`);
  if (crossed.length > 0) return EXIT_THRESHOLD;
  const errorsJudged = thresholds.some((threshold) => threshold.metric === 'errors');
  // A connection is held, failed, or was never set up before the end: the last always fails.
  if (result.held + result.errors < result.connections) return EXIT_FAILED;
  return result.errors === 0 || errorsJudged ? EXIT_OK : EXIT_FAILED;
}
