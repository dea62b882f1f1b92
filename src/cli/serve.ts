/**
 * One server process: the single-process run, and each worker of `--workers` (worker.ts is
 * what differs). Starts the blocked-loop detector, the server and its metrics, handles the
 * signals, and resolves with the exit code once a signal has shut it down.
 */
import type { Logger } from '../log.js';
import { createMetricsRegistry, MetricsServerError, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { StartupError, startEchoServer, type EchoServer } from '../server/index.js';
import { startBlockedLoopMonitor, type BlockedLoopMonitor } from '../tasks/index.js';
import { blockedLoopLog } from './blocked-loop-log.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_START_FAILED, ExitError } from './exit.js';
import type { CliOptions } from './server-options.js';
import { VERSION } from './version.js';
import { answerPrimary, onWorkerStop, tellListenersClosed, tellListening } from './worker.js';

/** What a shutdown does besides the server's own: mark unhealthy, then release the rest. */
interface ShutdownHooks {
  draining: () => void;
  cleanup: () => Promise<void>;
}

/**
 * Runs the server until a signal has shut it down; resolves with the exit code (0, or 130
 * after a second SIGINT), rejects with an `ExitError` when it cannot start or stop.
 * `worker` is this process's number under `--workers`, undefined when it runs alone.
 */
export async function serve(options: CliOptions, log: Logger, worker: number | undefined): Promise<number> {
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
  const server = await startServer(options, log);
  const registry = createMetricsRegistry({ stats: server.stats, version: VERSION });
  let metrics: MetricsServer | undefined;
  if (worker !== undefined) answerPrimary(registry);
  else if (options.metrics) metrics = await startMetrics(options.metrics, registry, log);
  // /healthz answers 503 before shutdown begins (before its first log line: a client that has
  // read that line must find the server unhealthy); metrics close only once it has stopped.
  const exit = handleSignals(server, log, {
    draining: () => metrics?.setHealthy(false),
    cleanup: async () => {
      await metrics?.close();
      await monitor?.stop();
      blocked.flush();
    },
  }, worker !== undefined);
  handleReload(server, log);
  logListening(options, server, metrics, log);
  if (worker !== undefined) tellListening(server.port, server.tlsPort ?? null);
  if (!server.ownsSockets) {
    log.warn(
      'running without the native socket helper (not built, or ECHO_NATIVE_SOCKETS=0): a saturated loop accepts new clients one per turn, and reads go through Node\'s streams',
    );
  }
  return exit;
}

async function startServer(options: CliOptions, log: Logger): Promise<EchoServer> {
  try {
    return await startEchoServer({ ...options.server, logger: log });
  } catch (error) {
    if (error instanceof StartupError) throw new ExitError(EXIT_START_FAILED, error.message);
    throw error;
  }
}

async function startMetrics(
  address: NonNullable<CliOptions['metrics']>,
  registry: ReturnType<typeof createMetricsRegistry>,
  log: Logger,
): Promise<MetricsServer> {
  try {
    return await startMetricsServer({ host: address.host, port: address.port, registry, logger: log });
  } catch (error) {
    if (error instanceof MetricsServerError) throw new ExitError(EXIT_START_FAILED, error.message);
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
 * `--workers` leaves SIGINT to its primary, and shuts down when the primary sends SIGTERM or
 * goes away (worker.ts). Resolves with the exit code.
 */
function handleSignals(server: EchoServer, log: Logger, hooks: ShutdownHooks, worker: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        if (signal === 'SIGINT') {
          log.warn('second SIGINT: exiting at once');
          resolve(EXIT_INTERRUPTED);
        }
        return;
      }
      stopping = true;
      // The listeners first (shutdown closes them before it returns), then a worker tells its
      // primary: until every worker has, the port still takes connections after the primary's
      // SIGTERM, so nothing comes before this, not even the log line.
      const stopped = server.shutdown();
      if (worker) tellListenersClosed();
      hooks.draining();
      log.info({ signal }, 'signal received');
      stopped
        .then(hooks.cleanup)
        .then(
          () => resolve(EXIT_OK),
          (error: unknown) => reject(new ExitError(EXIT_START_FAILED, `shutdown failed: ${error instanceof Error ? error.message : String(error)}`)),
        );
    };
    if (worker) return onWorkerStop(stop);
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function logListening(options: CliOptions, server: EchoServer, metrics: MetricsServer | undefined, log: Logger): void {
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
}
