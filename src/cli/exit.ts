/**
 * How echo-server ends: its exit codes, and the error that carries one up to the entry
 * (echo-server.ts), the only place that exits the process.
 */

/** After a clean shutdown. */
export const EXIT_OK = 0;
/** The server (or a worker, or the metrics server) cannot start, or shutdown failed. */
export const EXIT_START_FAILED = 1;
/** Bad options. */
export const EXIT_BAD_OPTIONS = 2;
/** A second SIGINT: ended at once. */
export const EXIT_INTERRUPTED = 130;

/** Ends the run with `code`; the entry prints `echo-server: <message>` and exits. */
export class ExitError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}
