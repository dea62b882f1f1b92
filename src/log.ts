import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** The log levels `--log-level` accepts. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The one place pino is configured. Logs are JSON lines, one per lifecycle event (never one
 * per message at `info`), written to `destination` (stdout by default; the load client sends
 * its logs to stderr to keep stdout for its report).
 *
 * @example
 *   const log = createLogger({ name: 'echo-server', level: 'info' });
 *   log.info({ port: 8090 }, 'listening');
 */
export function createLogger(options: { name: string; level: LevelWithSilent; destination?: 1 | 2 }): Logger {
  return pino(
    { name: options.name, level: options.level, base: { pid: process.pid } },
    pino.destination({ fd: options.destination ?? 1, sync: true }),
  );
}
