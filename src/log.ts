import { isatty } from 'node:tty';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** The log levels `--log-level` accepts. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The one place pino is configured. Logs are JSON lines, one per lifecycle event (never one
 * per message at `info`), written to `destination` (stdout by default; the load client sends
 * its logs to stderr to keep stdout for its report).
 *
 * When the destination is a terminal, a person is reading: lines go through pino-pretty
 * (colours, local time), which pino loads in its transport thread only then, so pipes,
 * files and containers get plain JSON at no extra cost. `pretty` overrides the guess.
 *
 * @example
 *   const log = createLogger({ name: 'echo-server', level: 'info' });
 *   log.info({ port: 8090 }, 'listening');
 */
export function createLogger(options: {
  name: string;
  level: LevelWithSilent;
  destination?: 1 | 2;
  pretty?: boolean;
  /** Fields on every line, beside `pid` (a worker's number, say). */
  base?: Record<string, unknown>;
}): Logger {
  const fd = options.destination ?? 1;
  const settings = { name: options.name, level: options.level, base: { pid: process.pid, ...options.base } };
  if (options.pretty ?? isatty(fd)) {
    const transport = pino.transport({
      target: 'pino-pretty',
      options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    });
    return pino(settings, transport);
  }
  return pino(settings, pino.destination({ fd, sync: true }));
}
