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
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const code = error.code ?? 'ELISTEN';
    const problem = REASONS[code] ?? error.message;
    return new StartupError(code, `cannot listen on ${where}: ${problem}`);
  }
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use (is another server running?)',
  EADDRNOTAVAIL: 'address not available on this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name could not be resolved',
  EAFNOSUPPORT: 'address family not supported',
  EINVAL: 'invalid address',
};
