import { describeListenFailure } from '../listen-error.js';

/**
 * The server could not start. `code` is stable (the system's errno name, e.g. `EADDRINUSE`);
 * `message` is one line meant for a person, naming the address and the problem.
 */
export class StartupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }

  static fromListen(error: NodeJS.ErrnoException, host: string, port: number): StartupError {
    const code = error.code ?? 'ELISTEN';
    return new StartupError(code, `cannot listen on ${describeListenFailure(host, port, error.code, error.message)}`);
  }
}
