#!/usr/bin/env node
/**
 * echo-server: options -> a running server -> a clean exit. The only place that exits the
 * process; everything below returns or throws.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createLogger, LOG_LEVELS, type Logger } from '../log.js';
import { MetricsServerError, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { DEFAULT_SERVER_OPTIONS as DEFAULTS, StartupError, startEchoServer, type EchoServer } from '../server/index.js';
import { setFailureReporter, startBlockedLoopMonitor, type BlockedLoopMonitor } from '../tasks/index.js';
import { formatDuration, OptionError, parseDuration, parseInteger } from '../parse-option.js';
import { blockedLoopLog } from './blocked-loop-log.js';
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

/** An on/off value from the environment (`ECHO_METRICS=0`) or `--metrics off`. */
function parseSwitch(text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new OptionError(`invalid metrics switch '${text}': use on/off, true/false or 1/0`);
}

function buildProgram(): Command {
  return new Command('echo-server')
    .description('A TCP echo server: one event loop, one task per client; echoes what it reads, upper-cased.')
    .version(VERSION)
    .addOption(new Option('--host <address>', 'address to listen on').env('ECHO_HOST').default(DEFAULTS.host))
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .env('ECHO_PORT')
        .default(DEFAULTS.port)
        .argParser(using((t) => parseInteger(t, 'port', 0, 65535))),
    )
    .addOption(
      new Option('--backlog <n>', 'queue of connections waiting to be accepted')
        .env('ECHO_BACKLOG')
        .default(DEFAULTS.backlog)
        .argParser(using((t) => parseInteger(t, 'backlog', 1, 65535))),
    )
    .addOption(
      new Option('--max-connections <n>', 'close connections past this many at once (0 = no limit)')
        .env('ECHO_MAX_CONNECTIONS')
        .default(DEFAULTS.maxConnections)
        .argParser(using((t) => parseInteger(t, 'max-connections', 0))),
    )
    .addOption(
      new Option('--idle-timeout <duration>', 'close a connection idle this long (0 = never)')
        .env('ECHO_IDLE_TIMEOUT')
        .default(DEFAULTS.idleTimeoutMs, formatDuration(DEFAULTS.idleTimeoutMs))
        .argParser(using((t) => parseDuration(t, 'idle-timeout'))),
    )
    .addOption(
      new Option('--shutdown-timeout <duration>', 'on SIGTERM/SIGINT, let connections finish this long')
        .env('ECHO_SHUTDOWN_TIMEOUT')
        .default(DEFAULTS.shutdownTimeoutMs, formatDuration(DEFAULTS.shutdownTimeoutMs))
        .argParser(using((t) => parseDuration(t, 'shutdown-timeout'))),
    )
    .addOption(
      new Option('--metrics-port <port>', 'port for /metrics and /healthz (0 picks a free one)')
        .env('ECHO_METRICS_PORT')
        .default(9464)
        .argParser(using((t) => parseInteger(t, 'metrics-port', 0, 65535))),
    )
    .addOption(
      new Option('--metrics-host <address>', 'address for /metrics and /healthz (default: --host)').env(
        'ECHO_METRICS_HOST',
      ),
    )
    .addOption(
      new Option('--metrics [on|off]', 'serve /metrics and /healthz')
        .env('ECHO_METRICS')
        .default(true, 'on')
        .argParser(using(parseSwitch)),
    )
    .addOption(new Option('--no-metrics', 'do not serve /metrics and /healthz'))
    .addOption(
      new Option('--max-blocking <duration>', 'warn when one task holds the event loop this long (0 = off)')
        .env('ECHO_MAX_BLOCKING')
        .default(100, '100ms')
        .argParser(using((t) => parseDuration(t, 'max-blocking'))),
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
  metricsPort: number;
  metricsHost: string | undefined;
  metrics: boolean;
  maxBlocking: number;
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
function handleSignals(server: EchoServer, log: Logger, cleanup: () => Promise<void>): void {
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
    server
      .shutdown()
      .then(cleanup)
      .then(
        () => process.exit(0),
        (error: unknown) => fail(EXIT_START_FAILED, `shutdown failed: ${error instanceof Error ? error.message : String(error)}`),
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const log = createLogger({ name: 'echo-server', level: options.logLevel });
  setFailureReporter((task, error) => log.error({ task: task.describe(), err: error }, 'task failed'));
  // The detector starts first, and its watchdog thread is up before the first client can
  // connect, so that it watches every connection's task from its first step (a step already
  // running when the thread comes up would be timed from then on: too short). `--max-blocking
  // 0` starts neither its timer nor its thread.
  let monitor: BlockedLoopMonitor | undefined;
  const blocked = blockedLoopLog(log, options.maxBlocking);
  if (options.maxBlocking > 0) {
    monitor = startBlockedLoopMonitor({ maxBlockingMs: options.maxBlocking, onBlocked: blocked.onBlocked });
    await monitor.ready;
  }
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
  let metrics: MetricsServer | undefined;
  if (options.metrics) {
    try {
      metrics = await startMetricsServer({
        host: options.metricsHost ?? options.host,
        port: options.metricsPort,
        stats: server.stats,
        isHealthy: () => server.serving,
        logger: log,
        version: VERSION,
      });
    } catch (error) {
      if (error instanceof MetricsServerError) fail(EXIT_START_FAILED, error.message);
      throw error;
    }
  }
  // /healthz answers 503 throughout the shutdown; metrics close only once the server has stopped.
  handleSignals(server, log, async () => {
    await metrics?.close();
    await monitor?.stop();
    blocked.flush();
  });
  log.info(
    {
      host: server.host,
      port: server.port,
      backlog: options.backlog,
      maxConnections: options.maxConnections,
      idleTimeoutMs: options.idleTimeout,
      shutdownTimeoutMs: options.shutdownTimeout,
      metricsPort: metrics?.port ?? null,
      maxBlockingMs: options.maxBlocking,
      ownSockets: server.ownsSockets,
      version: VERSION,
      node: process.version,
    },
    'listening',
  );
  if (!server.ownsSockets) {
    log.warn(
      'running without the native socket helper (not built, or ECHO_NATIVE_SOCKETS=0): a saturated loop accepts new clients one per turn, and reads go through Node\'s streams',
    );
  }
}

main().catch((error: unknown) => {
  // Anything unexpected still gets one line, not a stack trace.
  fail(EXIT_START_FAILED, error instanceof Error ? error.message : String(error));
});
