#!/usr/bin/env node
/**
 * echo-server: options -> a running server -> a clean exit. The only place that exits the
 * process; everything below returns or throws.
 */
import { CommanderError } from 'commander';
import { createLogger, type Logger } from '../log.js';
import { createMetricsRegistry, MetricsServerError, snapshot, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { OptionError } from '../parse-option.js';
import { StartupError, startEchoServer, type EchoServer } from '../server/index.js';
import { supportsReusePort } from '../reuse-port.js';
import { setFailureReporter, startBlockedLoopMonitor, type BlockedLoopMonitor } from '../tasks/index.js';
import { blockedLoopLog } from './blocked-loop-log.js';
import { runPrimary } from './primary.js';
import { parseServerOptions, type CliOptions } from './server-options.js';
import { VERSION } from './version.js';
import { WORKER_ENV, type FromWorker, type ToWorker } from './worker-messages.js';

/** Exit codes: 0 after a clean shutdown, 1 when the server cannot start, 2 for bad options. */
const EXIT_START_FAILED = 1;
const EXIT_BAD_OPTIONS = 2;
const EXIT_INTERRUPTED = 130;

function fail(code: number, message: string): never {
  process.stderr.write(`echo-server: ${message}\n`);
  process.exit(code);
}

function parseOptions(argv: string[]): CliOptions {
  try {
    return parseServerOptions(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      process.exit(error.exitCode === 0 ? 0 : EXIT_BAD_OPTIONS);
    }
    if (error instanceof OptionError) fail(EXIT_BAD_OPTIONS, error.message);
    throw error;
  }
}

/** SIGHUP: read the TLS certificate, key and CA again; a bad file keeps the old ones. */
function handleReload(server: EchoServer, log: Logger): void {
  process.on('SIGHUP', () => {
    if (server.tls === undefined) return void log.info('SIGHUP: no TLS listener, nothing to reload');
    try {
      server.reloadTls();
      log.info({ cert: server.tls.settings.certFile }, 'TLS certificate reloaded');
    } catch (error) {
      log.error({ err: (error as Error).message }, 'TLS certificate not reloaded: keeping the old one');
    }
  });
}

/**
 * SIGTERM/SIGINT: graceful shutdown, then exit 0. A second SIGINT exits at once. A worker of
 * `--workers` leaves SIGINT to its primary (a terminal's Ctrl-C reaches every process of the
 * group), and shuts down when the primary sends SIGTERM or goes away.
 */
function handleSignals(server: EchoServer, log: Logger, hooks: { draining: () => void; cleanup: () => Promise<void> }, worker: boolean): void {
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
    // The listeners first (shutdown closes them before it returns), then a worker tells its
    // primary: until every worker has, the port still takes connections after the primary's
    // SIGTERM, so nothing comes before this, not even the log line.
    const stopped = server.shutdown();
    if (worker && process.connected) process.send?.({ type: 'listeners-closed' } satisfies FromWorker);
    hooks.draining();
    log.info({ signal }, 'signal received');
    stopped
      .then(hooks.cleanup)
      .then(
        () => process.exit(0),
        (error: unknown) => fail(EXIT_START_FAILED, `shutdown failed: ${error instanceof Error ? error.message : String(error)}`),
      );
  };
  process.on('SIGTERM', stop);
  if (!worker) return void process.on('SIGINT', stop);
  process.on('SIGINT', () => {});
  process.on('disconnect', () => stop('SIGTERM'));
}

/** A worker answers its primary's requests for metrics (see primary.ts). */
function answerPrimary(registry: Parameters<typeof snapshot>[0]): void {
  process.on('message', (message: ToWorker) => {
    if (message.type !== 'metrics') return;
    void snapshot(registry).then((metrics) => {
      const reply: FromWorker = { type: 'metrics', id: message.id, metrics };
      process.send?.(reply);
    });
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const workerNumber = process.env[WORKER_ENV] === undefined ? undefined : Number(process.env[WORKER_ENV]);
  const log = createLogger({ name: 'echo-server', level: options.logLevel, ...(workerNumber === undefined ? {} : { base: { worker: workerNumber } }) });
  if (options.workers > 1 && workerNumber === undefined) {
    if (!supportsReusePort()) {
      fail(EXIT_BAD_OPTIONS, `--workers ${options.workers} needs SO_REUSEPORT: Linux and Node.js 22.12 or later (this is ${process.platform}, ${process.version})`);
    }
    process.exit(await runPrimary(options, log, fail));
  }
  setFailureReporter((task, error) => log.error({ task: task.describe(), err: error }, 'task failed'));
  // The detector starts first, and its watchdog thread is up before the first client can
  // connect, so that it watches every connection's task from its first step (a step already
  // running when the thread comes up would be timed from then on: too short). `--max-blocking
  // 0` starts neither its timer nor its thread.
  let monitor: BlockedLoopMonitor | undefined;
  const blocked = blockedLoopLog(log, options.maxBlockingMs);
  if (options.maxBlockingMs > 0) {
    monitor = startBlockedLoopMonitor({ maxBlockingMs: options.maxBlockingMs, onBlocked: blocked.onBlocked });
    await monitor.ready;
  }
  let server: EchoServer;
  try {
    server = await startEchoServer({ ...options.server, logger: log });
  } catch (error) {
    if (error instanceof StartupError) fail(EXIT_START_FAILED, error.message);
    throw error;
  }
  const registry = createMetricsRegistry({ stats: server.stats, version: VERSION });
  let metrics: MetricsServer | undefined;
  if (workerNumber !== undefined) {
    answerPrimary(registry);
  } else if (options.metrics) {
    try {
      metrics = await startMetricsServer({
        host: options.metrics.host,
        port: options.metrics.port,
        registry,
        logger: log,
      });
    } catch (error) {
      if (error instanceof MetricsServerError) fail(EXIT_START_FAILED, error.message);
      throw error;
    }
  }
  // /healthz answers 503 before shutdown begins (before its first log line: a client that has
  // read that line must find the server unhealthy); metrics close only once it has stopped.
  handleSignals(server, log, {
    draining: () => metrics?.setHealthy(false),
    cleanup: async () => {
      await metrics?.close();
      await monitor?.stop();
      blocked.flush();
    },
  }, workerNumber !== undefined);
  handleReload(server, log);
  const { tls, proxy } = options.server;
  log.info(
    {
      host: server.host,
      port: options.server.plain ? server.port : null,
      tlsPort: server.tlsPort ?? null,
      ...(tls === undefined ? {} : { tlsClientAuth: tls.clientAuth }),
      proxyProtocol: proxy?.mode ?? 'off',
      backlog: options.server.backlog,
      maxConnections: options.server.maxConnections,
      idleTimeoutMs: options.server.idleTimeoutMs,
      shutdownTimeoutMs: options.server.shutdownTimeoutMs,
      metricsPort: metrics?.port ?? null,
      maxBlockingMs: options.maxBlockingMs,
      ownSockets: server.ownsSockets,
      version: VERSION,
      node: process.version,
    },
    'listening',
  );
  if (workerNumber !== undefined) {
    const listening: FromWorker = { type: 'listening', port: server.port, tlsPort: server.tlsPort ?? null };
    process.send?.(listening);
  }
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
