#!/usr/bin/env node
/**
 * echo-server: options -> a running server -> a clean exit. The only place that exits the
 * process; everything below returns or throws.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createLogger, LOG_LEVELS, type Logger } from '../log.js';
import { StartupError, startEchoServer, type EchoServer } from '../server/index.js';
import { setFailureReporter } from '../tasks/index.js';
import { OptionError, parseDuration, parseInteger } from './duration.js';
import { VERSION } from './version.js';

/** Exit codes: 0 after a clean shutdown, 1 when the server cannot start, 2 for bad options. */
const EXIT_START_FAILED = 1;
const EXIT_BAD_OPTIONS = 2;
const EXIT_INTERRUPTED = 130;

function fail(code: number, message: string): never {
  process.stderr.write(`echo-server: ${message}\n`);
  process.exit(code);
}

/** Adapts our parsers to commander, which reports InvalidArgumentError as a one-line error. */
function using<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof OptionError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

function buildProgram(): Command {
  return new Command('echo-server')
    .description('A TCP echo server: one event loop, one task per client; echoes what it reads, upper-cased.')
    .version(VERSION)
    .addOption(new Option('--host <address>', 'address to listen on').env('ECHO_HOST').default('127.0.0.1'))
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .env('ECHO_PORT')
        .default(8090)
        .argParser(using((t) => parseInteger(t, 'port', 0, 65535))),
    )
    .addOption(
      new Option('--backlog <n>', 'queue of connections waiting to be accepted')
        .env('ECHO_BACKLOG')
        .default(511)
        .argParser(using((t) => parseInteger(t, 'backlog', 1, 65535))),
    )
    .addOption(
      new Option('--max-connections <n>', 'close connections past this many at once (0 = no limit)')
        .env('ECHO_MAX_CONNECTIONS')
        .default(0)
        .argParser(using((t) => parseInteger(t, 'max-connections', 0))),
    )
    .addOption(
      new Option('--idle-timeout <duration>', 'close a connection idle this long (0 = never)')
        .env('ECHO_IDLE_TIMEOUT')
        .default(0, '0')
        .argParser(using((t) => parseDuration(t, 'idle-timeout'))),
    )
    .addOption(
      new Option('--shutdown-timeout <duration>', 'on SIGTERM/SIGINT, let connections finish this long')
        .env('ECHO_SHUTDOWN_TIMEOUT')
        .default(5000, '5s')
        .argParser(using((t) => parseDuration(t, 'shutdown-timeout'))),
    )
    .addOption(
      new Option('--log-level <level>', 'log level').env('ECHO_LOG_LEVEL').default('info').choices(LOG_LEVELS),
    )
    .exitOverride()
    .configureOutput({
      // commander's own errors (unknown option, bad value) become one line naming the problem.
      outputError: (text, write) => write(`echo-server: ${text.replace(/^error: /, '')}`),
    });
}

interface CliOptions {
  host: string;
  port: number;
  backlog: number;
  maxConnections: number;
  idleTimeout: number;
  shutdownTimeout: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

function parseOptions(argv: string[]): CliOptions {
  const program = buildProgram();
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      process.exit(error.exitCode === 0 ? 0 : EXIT_BAD_OPTIONS);
    }
    throw error;
  }
  return program.opts<CliOptions>();
}

/** SIGTERM/SIGINT: graceful shutdown, then exit 0. A second SIGINT exits at once. */
function handleSignals(server: EchoServer, log: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === 'SIGINT') {
        log.warn('second SIGINT: exiting at once');
        process.exit(EXIT_INTERRUPTED);
      }
      return;
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    void server.shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const log = createLogger({ name: 'echo-server', level: options.logLevel });
  setFailureReporter((task, error) => log.error({ task: task.name, err: error }, 'task failed'));
  let server: EchoServer;
  try {
    server = await startEchoServer({
      host: options.host,
      port: options.port,
      backlog: options.backlog,
      maxConnections: options.maxConnections,
      idleTimeoutMs: options.idleTimeout,
      shutdownTimeoutMs: options.shutdownTimeout,
      logger: log,
    });
  } catch (error) {
    if (error instanceof StartupError) fail(EXIT_START_FAILED, error.message);
    throw error;
  }
  handleSignals(server, log);
  log.info(
    {
      host: server.host,
      port: server.port,
      backlog: options.backlog,
      maxConnections: options.maxConnections,
      idleTimeoutMs: options.idleTimeout,
      shutdownTimeoutMs: options.shutdownTimeout,
      version: VERSION,
      node: process.version,
    },
    'listening',
  );
}

main().catch((error: unknown) => {
  // Anything unexpected still gets one line, not a stack trace.
  fail(EXIT_START_FAILED, error instanceof Error ? error.message : String(error));
});
