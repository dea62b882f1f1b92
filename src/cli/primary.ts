/**
 * `--workers n`: n copies of the single-threaded server on the same ports, the way gunicorn
 * runs gevent workers: one primary process that does no echo work, and n worker processes,
 * each the whole server (its own event loop, runtime, echo tasks and blocked-loop detector).
 * The workers listen with SO_REUSEPORT, so the kernel spreads connections over them; each
 * still takes its own accept queue whole.
 *
 * Processes, not threads (`npm run bench:workers` measures both): a worker process costs
 * about 47 MiB at rest (proportional set, Node.js 22) where one more worker thread costs about
 * 25 MiB, and the primary 35 MiB; per connection and per message both run the same code. What
 * decides it: a crash (a native fault, an out-of-memory kill, a bug) takes down one worker,
 * which the primary replaces, instead of every connection in the process; and signals reach
 * a process's main thread only (a worker thread cannot listen for them), so each worker's own
 * SIGTERM, SIGHUP, and the SIGURG that wakes its poll phase for new sockets
 * (own-sockets.ts), work only in a process of its own.
 *
 * The primary: starts the workers (the first picks the ports when 0 was asked for, the others
 * join it), serves the one /metrics and /healthz (counters summed over the workers, plus each
 * worker's open connections), replaces a worker that dies, forwards SIGHUP, and on SIGTERM or
 * SIGINT shuts every worker down gracefully.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import { aggregateWorkers, MetricsServerError, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { EXIT_INTERRUPTED, EXIT_START_FAILED, ExitError } from './exit.js';
import type { CliOptions } from './server-options.js';
import { WORKER_ENV, type FromWorker, type ToWorker } from './worker-messages.js';

const CLI = fileURLToPath(new URL('./echo-server.js', import.meta.url));
/** A metrics scrape waits this long for each worker's numbers, then shows the others'. */
const METRICS_WAIT_MS = 2000;
/** A worker that dies this soon after it started is restarted after a growing pause. */
const QUICK_DEATH_MS = 1000;
const MAX_RESTART_PAUSE_MS = 5000;

interface Worker {
  number: number;
  child: ChildProcess;
  startedAt: number;
  /** Restarts in a row that followed a quick death: the next pause doubles. */
  quickDeaths: number;
  /** Said it listens: its signal handlers are in place, a SIGTERM now shuts it down gracefully. */
  listening: boolean;
  /** Sent its SIGTERM. */
  stopSent: boolean;
  /** Resolves once it has closed its listeners (its message says so) or exited. */
  listenersClosed: Promise<void>;
}

/** What the primary's lifecycle ends with: the exit code. */
export type PrimaryExit = Promise<number>;

/**
 * Runs the primary until a signal has shut every worker down; resolves with the exit code
 * (0 after a clean shutdown, 130 after a second SIGINT); rejects with an `ExitError` when the
 * workers or the metrics server fail to start.
 */
export async function runPrimary(options: CliOptions, log: Logger): PrimaryExit {
  const count = options.workers;
  const workers = new Map<number, Worker>();
  let restarts = 0;
  let stopping = false;
  let ports: { port: number; tlsPort: number | null } | undefined;

  const start = (number: number, quickDeaths = 0): Promise<FromWorker & { type: 'listening' }> => {
    // The same command line; once the ports are known, every worker gets them (the last
    // occurrence of an option wins).
    const args = [...process.argv.slice(2)];
    if (ports !== undefined) {
      args.push('--port', String(ports.port));
      if (ports.tlsPort !== null) args.push('--tls-port', String(ports.tlsPort));
    }
    const child = fork(CLI, args, { env: { ...process.env, [WORKER_ENV]: String(number) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const listenersClosed = new Promise<void>((resolve) => {
      const onMessage = (message: FromWorker) => {
        if (message.type !== 'listeners-closed') return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.once('exit', () => resolve());
    });
    const worker: Worker = { number, child, startedAt: performance.now(), quickDeaths, listening: false, stopSent: false, listenersClosed };
    workers.set(number, worker);
    child.on('exit', (code, signal) => onExit(worker, code, signal));
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type !== 'listening') return;
        child.off('message', onMessage);
        worker.listening = true;
        // A stop that came while it started: now that its handlers are in place.
        if (stopping) stopWorker(worker);
        resolve(message);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`worker ${number} exited with ${code} before listening`)));
    });
  };

  const onExit = (worker: Worker, code: number | null, signal: NodeJS.Signals | null) => {
    if (workers.get(worker.number) !== worker) return;
    workers.delete(worker.number);
    if (stopping) return;
    restarts++;
    const quick = performance.now() - worker.startedAt < QUICK_DEATH_MS;
    const quickDeaths = quick ? worker.quickDeaths + 1 : 0;
    const pauseMs = quick ? Math.min(MAX_RESTART_PAUSE_MS, 100 * 2 ** quickDeaths) : 0;
    log.error({ worker: worker.number, code, signal, restartInMs: pauseMs }, 'worker died: starting another');
    setTimeout(() => {
      if (stopping) return;
      start(worker.number, quickDeaths).catch((error: Error) => log.error({ worker: worker.number, err: error.message }, 'worker failed to start'));
    }, pauseMs).unref();
  };

  const stopWorker = (worker: Worker) => {
    if (worker.stopSent) return;
    worker.stopSent = true;
    worker.child.kill('SIGTERM');
  };

  // The signals first, before any worker starts: a SIGTERM that comes during start-up, or
  // just after the listening line, stops the workers like any other (a SIGTERM that came
  // before the handlers would kill the primary by the default action, and leave its workers
  // to shut down on the lost IPC channel).
  let requestStop!: (signal: NodeJS.Signals) => void;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (requestStop = resolve));
  let interrupt!: (code: number) => void;
  const interrupted = new Promise<number>((resolve) => (interrupt = resolve));
  let signalAt = 0;
  let metrics: MetricsServer | undefined;
  const onStopSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      // Until the last worker has closed its listeners the kernel still completes handshakes
      // for them, and only a worker can close its own. So the SIGTERMs go out first, before
      // any log line (its write wakes the process reading the log, which can take this
      // core), and each worker closes its listeners first thing in its handler. The window
      // left is one wake-up of this process, then one of each worker in parallel: on 2 cores
      // (sinceSignalMs of 'listeners closed', 20 runs each) 1.3-13 ms with other work
      // running, 1.9-60 ms with two CPU burners beside as well; longer still while a
      // worker's busy loop has not come back to poll.
      signalAt = performance.now();
      stopping = true;
      for (const worker of workers.values()) if (worker.listening) stopWorker(worker);
      metrics?.setHealthy(false);
      return requestStop(signal);
    }
    if (signal !== 'SIGINT') return;
    log.warn('second SIGINT: ending the workers at once');
    for (const worker of workers.values()) worker.child.kill('SIGKILL');
    interrupt(EXIT_INTERRUPTED);
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);
  process.on('SIGHUP', () => {
    for (const worker of workers.values()) worker.child.kill('SIGHUP');
  });

  // The first worker alone, so that a port 0 becomes one port for all; then the others.
  // A stop asked for meanwhile lets the started ones listen (their own handlers are in place
  // by then), and starts no more.
  try {
    const first = await start(1);
    ports = { port: first.port, tlsPort: first.tlsPort };
    if (!stopping) await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 2)));
  } catch (error) {
    if (!stopping) {
      stopping = true;
      for (const worker of workers.values()) worker.child.kill('SIGKILL');
      throw new ExitError(EXIT_START_FAILED, `workers did not start: ${(error as Error).message}`);
    }
  }

  if (options.metrics && !stopping) {
    try {
      metrics = await startMetricsServer({
        host: options.metrics.host,
        port: options.metrics.port,
        registry: async () => {
          const current = [...workers.values()];
          const metrics = await Promise.all(current.map((worker) => askForMetrics(worker)));
          return aggregateWorkers(current.map((worker, i) => ({ worker: worker.number, metrics: metrics[i] })), restarts);
        },
        logger: log,
      });
    } catch (error) {
      if (error instanceof MetricsServerError) throw new ExitError(EXIT_START_FAILED, error.message);
      throw error;
    }
  }
  if (!stopping) log.info({ workers: count, port: ports?.port, tlsPort: ports?.tlsPort, metricsPort: metrics?.port ?? null }, 'listening');

  const signal = await stopRequested;
  log.info({ signal, workers: workers.size }, 'signal received: shutting the workers down');
  // Again: a signal that came while the metrics server was starting did not find it.
  metrics?.setHealthy(false);
  const shutdown = async (): Promise<number> => {
    // A worker in the map has not exited yet: its exit handler takes it out. Each has its
    // SIGTERM already, or gets it once it listens (start).
    const stopped = [...workers.values()];
    const exits = stopped.map((worker) => new Promise<number | null>((done) => worker.child.once('exit', (code) => done(code))));
    const closed = Promise.all(stopped.map((worker) => worker.listenersClosed)).then(() =>
      log.info({ workers: stopped.length, sinceSignalMs: Math.round((performance.now() - signalAt) * 10) / 10 }, 'listeners closed'),
    );
    const codes = await Promise.all(exits);
    await closed;
    await metrics?.close();
    const failed = codes.filter((code) => code !== 0).length;
    log.info({ workers: codes.length, failed }, 'shutdown done');
    return failed === 0 ? 0 : 1;
  };
  return Promise.race([shutdown(), interrupted]);
}

let lastRequest = 0;

function askForMetrics(worker: Worker): Promise<object[] | undefined> {
  const id = ++lastRequest;
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), METRICS_WAIT_MS);
    const onMessage = (message: FromWorker) => {
      if (message.type === 'metrics' && message.id === id) done(message.metrics);
    };
    const done = (metrics: object[] | undefined) => {
      clearTimeout(timer);
      worker.child.off('message', onMessage);
      resolve(metrics);
    };
    worker.child.on('message', onMessage);
    const request: ToWorker = { type: 'metrics', id };
    if (!worker.child.connected) return done(undefined);
    worker.child.send(request, (error) => {
      if (error) done(undefined);
    });
  });
}
