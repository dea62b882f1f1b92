/**
 * The codes echo-load exits with, and what `--help` says of them (options/command.ts); how a
 * result becomes one is `judge` in commands/exit-policy.ts.
 */

/** Every connection held, every echo exact and in time (or within the `errors` thresholds). */
export const EXIT_OK = 0;
/** Errors: refused, handshake failures, resets, timeouts, mismatches; or the run could not take place. */
export const EXIT_FAILED = 1;
/** Bad options, or bad merge input. */
export const EXIT_USAGE = 2;
/** A `--threshold` crossed: k6 exits 99 for it too, so CI scripts written for k6 read it alike. */
export const EXIT_THRESHOLD = 99;
/** Stopped by SIGINT, after printing the report of what was measured. */
export const EXIT_INTERRUPTED = 130;

/** What each code means, as `--help` shows it. */
export const EXIT_CODES_HELP =
  `\nExit codes: ${EXIT_OK} every connection held and every echo exact and in time; ${EXIT_FAILED} errors (refused, handshake failures, resets, timeouts, mismatches);\n` +
  `${EXIT_USAGE} bad options (or bad merge input); ${EXIT_THRESHOLD} a --threshold crossed; ${EXIT_INTERRUPTED} interrupted (SIGINT), after printing the report of what was measured.`;
