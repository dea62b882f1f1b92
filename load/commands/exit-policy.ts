/**
 * How an echo-load run or merge ends: the one line printed for a failure, and the verdict on a
 * result, as one of the exit codes (exit-codes.ts).
 */
import { EXIT_FAILED, EXIT_OK, EXIT_THRESHOLD } from '../exit-codes.js';
import type { LoadResult } from '../result/result.js';
import { checkThresholds, describeCrossed } from '../verdict/threshold-check.js';
import type { Threshold } from '../verdict/threshold.js';

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
  if (result.held + result.errors < result.expectHeld) return EXIT_FAILED;
  // An idle connection must be there at the end; one that failed is in `errors`.
  if (result.idle.held < result.idle.connections && result.errors === 0) return EXIT_FAILED;
  return result.errors === 0 || errorsJudged ? EXIT_OK : EXIT_FAILED;
}
