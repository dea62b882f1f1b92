/**
 * A run that could not take place at all (as opposed to one that measured failures): a target
 * that does not resolve (`EHOST`), a worker thread that failed or never reported (`EWORKER`).
 */
export class LoadError extends Error {
  constructor(
    readonly code: 'EHOST' | 'EWORKER',
    message: string,
  ) {
    super(message);
  }
}
