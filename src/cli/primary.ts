/**
 * `--workers n`: n copies of the single-threaded server on the same ports, the way gunicorn
 * runs gevent workers: one primary process that does no echo work, and n worker processes,
 * each the whole server (its own event loop, runtime, echo tasks and blocked-loop detector).
 * The workers listen with SO_REUSEPORT, so the kernel spreads connections over them; each
 * still takes its own accept queue whole.
 *
 * Processes, not threads: a worker process costs more memory at rest than one more worker
 * thread (`npm run bench:workers` measures both; the figures are in docs/performance.md), and
 * per connection and per message both run the same code. What decides it: a crash (a native fault, an out-of-memory kill, a bug) takes down one worker,
 * which the primary replaces, instead of every connection in the process; and signals reach
 * a process's main thread only (a worker thread cannot listen for them), so each worker's own
 * SIGTERM, SIGHUP, and the SIGURG that wakes its poll phase for new sockets
 * (own-sockets.ts), work only in a process of its own.
 *
 * The primary is written in the same runtime as the server, with the same shape: one
 * supervising task per worker in a group (as the server has one task per client), a
 * lifecycle task that starts them (the first picks the ports when 0 was asked for, the others
 * join it) and serves the one /metrics and /healthz (counters summed over the workers, plus
 * each worker's open connections), and shutdown, which joins the group. SIGHUP is forwarded.
 */
import type { Logger } from '../log.js';
import { aggregateWorkers, MetricsServerError, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { Event, Group, spawn, suspend, type Operation, type Suspension, type Task } from '../tasks/index.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_START_FAILED, ExitError } from './exit.js';
import type { CliOptions } from './server-options.js';
import { WorkerProcess, type Ports } from './worker-process.js';

/** A metrics scrape waits this long for each worker's numbers, then shows the others'. */
const METRICS_WAIT_MS = 2000;
/** A worker that dies this soon after it started is restarted after a growing pause. */
const QUICK_DEATH_MS = 1000;
const MAX_RESTART_PAUSE_MS = 5000;

/** What the primary's tasks share. */
class Primary {
  /** The live process of each worker number. */
  readonly workers = new Map<number, WorkerProcess>();
  /** One `supervise` task per worker number. */
  readonly supervisors = new Group();
  /** Set by the first SIGTERM or SIGINT. */
  readonly stopping = new Event();
  signalAt = 0;
  signal: NodeJS.Signals = 'SIGTERM';
  restarts = 0;
  ports: Ports | undefined;
  metrics: MetricsServer | undefined;

  constructor(
    readonly options: CliOptions,
    readonly log: Logger,
  ) {}

  /** Forks worker `number` and records it as that number's live process. */
  fork(number: number): WorkerProcess {
    // The same command line; once the ports are known, every worker gets them (the last
    // occurrence of an option wins).
    const args = [...process.argv.slice(2)];
    if (this.ports !== undefined) {
      args.push('--port', String(this.ports.port));
      if (this.ports.tlsPort !== null) args.push('--tls-port', String(this.ports.tlsPort));
    }
    const worker = new WorkerProcess(number, args);
    this.workers.set(number, worker);
    return worker;
  }

  /** Forks worker `number` and spawns the task that supervises it. */
  start(number: number): WorkerProcess {
    const worker = this.fork(number);
    this.supervisors.spawn(supervise, this, worker).name = `worker ${number}`;
    return worker;
  }

  /**
   * The first SIGTERM or SIGINT. Until the last worker has closed its listeners the kernel
   * still completes handshakes for them, and only a worker can close its own. So the
   * SIGTERMs go out first, before any log line (its write wakes the process reading the log,
   * which can take this core), and each worker closes its listeners first thing in its
   * handler. The window left is one wake-up of this process, then one of each worker in
   * parallel (how long it measured: docs/server.md, "On every core").
   */
  stop(signal: NodeJS.Signals): void {
    this.signalAt = performance.now();
    this.signal = signal;
    for (const worker of this.workers.values()) worker.stop();
    this.metrics?.setHealthy(false);
    this.stopping.set();
  }

  /** The metrics of every live worker, added up, for one scrape. */
  async scrape(): Promise<ReturnType<typeof aggregateWorkers>> {
    const current = [...this.workers.values()];
    const metrics = await Promise.all(current.map((worker) => worker.metrics(METRICS_WAIT_MS)));
    return aggregateWorkers(current.map((worker, i) => ({ worker: worker.number, metrics: metrics[i] })), this.restarts);
  }
}

/**
 * Runs the primary until a signal has shut every worker down; resolves with the exit code
 * (0 after a clean shutdown, 1 if a worker did not exit cleanly, 130 after a second SIGINT).
 * Rejects with an `ExitError` when the workers or the metrics server cannot start.
 */
export async function runPrimary(options: CliOptions, log: Logger): Promise<number> {
  const primary = new Primary(options, log);
  const main = spawn(lifecycle, primary);
  // The signals first, in this same turn, before the task's first step starts a worker: a
  // SIGTERM that comes during start-up, or just after the listening line, stops the workers
  // like any other.
  handleSignals(primary, main);
  await main.join();
  if (main.killed) return EXIT_INTERRUPTED;
  const outcome = await main.get();
  if (outcome instanceof Error) throw outcome;
  return outcome;
}

/** SIGTERM/SIGINT: shutdown; a second SIGINT ends the workers at once. SIGHUP: to every worker. */
function handleSignals(primary: Primary, main: Task<number | Error>): void {
  const onStopSignal = (signal: NodeJS.Signals) => {
    if (!primary.stopping.isSet()) return primary.stop(signal);
    if (signal !== 'SIGINT') return;
    primary.log.warn('second SIGINT: ending the workers at once');
    for (const worker of primary.workers.values()) worker.signal('SIGKILL');
    main.kill();
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);
  process.on('SIGHUP', () => {
    for (const worker of primary.workers.values()) worker.signal('SIGHUP');
  });
}

/**
 * The primary's life: start the workers and the metrics endpoint, wait for a signal, shut down.
 * A start that fails is returned as the error, not thrown: a thrown one would be reported as a
 * task failure (a bug), and this is a condition of the machine, which the entry prints as one line.
 */
function* lifecycle(primary: Primary): Operation<number | Error> {
  const { options, log, stopping } = primary;
  const failure = yield* startWorkers(primary);
  if (failure !== undefined) {
    primary.supervisors.kill();
    for (const worker of primary.workers.values()) worker.signal('SIGKILL');
    return new ExitError(EXIT_START_FAILED, `workers did not start: ${failure}`);
  }
  if (options.metrics && !stopping.isSet()) {
    const { host, port } = options.metrics;
    try {
      primary.metrics = yield* settled(startMetricsServer({ host, port, registry: () => primary.scrape(), logger: log }));
    } catch (error) {
      if (error instanceof MetricsServerError) return new ExitError(EXIT_START_FAILED, error.message);
      throw error;
    }
  }
  if (!stopping.isSet()) {
    log.info({ workers: options.workers, port: primary.ports?.port, tlsPort: primary.ports?.tlsPort, metricsPort: primary.metrics?.port ?? null }, 'listening');
  }
  yield* stopping.wait();
  return yield* shutdown(primary);
}

/**
 * The first worker alone, so that a port 0 becomes one port for all; then the others. A stop
 * asked for meanwhile lets the started ones listen (their own handlers are in place by then),
 * and starts no more. Returns why a worker did not start, unless a stop came first.
 */
function* startWorkers(primary: Primary): Operation<string | undefined> {
  const first = primary.start(1);
  yield* first.started.wait();
  if (first.ports === undefined) return primary.stopping.isSet() ? undefined : notListening(first);
  primary.ports = first.ports;
  if (primary.stopping.isSet()) return undefined;
  const others = Array.from({ length: primary.options.workers - 1 }, (_, i) => primary.start(i + 2));
  for (const worker of others) {
    yield* worker.started.wait();
    if (worker.ports === undefined && !primary.stopping.isSet()) return notListening(worker);
  }
  return undefined;
}

const notListening = (worker: WorkerProcess) => `worker ${worker.number} exited with ${worker.exit?.code} before listening`;

/**
 * One worker number's task: waits for its process to exit and, unless the primary is
 * stopping, starts another under the same number (after a growing pause if it keeps dying
 * at once). Ends when its process has exited during shutdown.
 */
function* supervise(primary: Primary, worker: WorkerProcess): Operation<void> {
  const { log, stopping } = primary;
  let quickDeaths = 0;
  let replacement = false;
  for (;;) {
    yield* worker.exited.wait();
    if (primary.workers.get(worker.number) === worker) primary.workers.delete(worker.number);
    if (stopping.isSet()) return;
    // (A first worker that never listened is the start-up's failure: startWorkers reports it.)
    if (replacement && worker.ports === undefined) log.error({ worker: worker.number, err: notListening(worker) }, 'worker failed to start');
    primary.restarts++;
    const quick = performance.now() - worker.startedAt < QUICK_DEATH_MS;
    quickDeaths = quick ? quickDeaths + 1 : 0;
    const pauseMs = quick ? Math.min(MAX_RESTART_PAUSE_MS, 100 * 2 ** quickDeaths) : 0;
    log.error({ worker: worker.number, ...worker.exit, restartInMs: pauseMs }, 'worker died: starting another');
    // The pause, cut short by a shutdown.
    if (yield* stopping.wait(pauseMs)) return;
    worker = primary.fork(worker.number);
    replacement = true;
  }
}

/**
 * Shutdown, as a task: every live worker has its SIGTERM already (or gets it once it
 * listens: `WorkerProcess.stop`). Logs once all have closed their listeners, joins the
 * supervisors (each ends once its worker has exited), then closes the metrics endpoint.
 */
function* shutdown(primary: Primary): Operation<number> {
  const { log } = primary;
  const stopped = [...primary.workers.values()];
  log.info({ signal: primary.signal, workers: stopped.length }, 'signal received: shutting the workers down');
  // Again: a signal that came while the metrics server was starting did not find it.
  primary.metrics?.setHealthy(false);
  for (const worker of stopped) yield* worker.listenersClosed.wait();
  log.info({ workers: stopped.length, sinceSignalMs: Math.round((performance.now() - primary.signalAt) * 10) / 10 }, 'listeners closed');
  yield* primary.supervisors.join();
  if (primary.metrics !== undefined) yield* settled(primary.metrics.close());
  const failed = stopped.filter((worker) => worker.exit?.code !== 0).length;
  log.info({ workers: stopped.length, failed }, 'shutdown done');
  return failed === 0 ? EXIT_OK : EXIT_START_FAILED;
}

/** Waits, in a task, for a promise: its value, or its rejection thrown at this switch point. */
function settled<T>(promise: Promise<T>): Suspension<T> {
  return suspend<T>((resume, fail) => void promise.then(resume, fail));
}
