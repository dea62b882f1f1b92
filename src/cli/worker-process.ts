import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Event, suspend, type Suspension } from '../tasks/index.js';
import { WORKER_ENV, type FromWorker, type ToWorker } from './worker-messages.js';

const CLI = fileURLToPath(new URL('./echo-server.js', import.meta.url));

/** The ports a worker listens on (the first worker picks them when 0 was asked for). */
export interface Ports {
  port: number;
  tlsPort: number | null;
}

let lastRequest = 0;

/**
 * The primary's handle on one worker process: its messages and its exit become Events that
 * the primary's tasks wait on, the way a connection turns a socket's events into switch points.
 *
 * @example
 *   const worker = new WorkerProcess(1, process.argv.slice(2));
 *   yield* worker.started.wait();
 *   if (worker.ports === undefined) console.log('it exited before listening');
 */
export class WorkerProcess {
  private readonly child: ChildProcess;
  readonly startedAt = performance.now();
  /** Its ports, once it says it listens. */
  ports: Ports | undefined;
  /** How it exited, once it has. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Set once it listens (its signal handlers are in place) or has exited: `ports` says which. */
  readonly started = new Event();
  /** Set once it has closed its listeners (its message says so) or has exited. */
  readonly listenersClosed = new Event();
  readonly exited = new Event();
  private stopWanted = false;

  /** Forks the server as worker `number` with `args` (the primary's own command line). */
  constructor(
    readonly number: number,
    args: string[],
  ) {
    this.child = fork(CLI, args, { env: { ...process.env, [WORKER_ENV]: String(number) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromWorker) => this.onMessage(message));
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      this.started.set();
      this.listenersClosed.set();
      this.exited.set();
    });
  }

  /**
   * Shuts it down gracefully: SIGTERM, once. Before it listens, its handlers are not in place
   * and a SIGTERM would kill it by the default action, so it gets the signal once it listens.
   */
  stop(): void {
    if (this.stopWanted) return;
    this.stopWanted = true;
    if (this.ports !== undefined) this.child.kill('SIGTERM');
  }

  /** Sends `signal` (SIGHUP to reload, SIGKILL to end it at once). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /**
   * Its metrics (prom-client's JSON), or undefined when it does not answer within `waitMs`.
   * `yield*` it in a task or `await` it (a scrape is promise code).
   */
  metrics(waitMs: number): Suspension<object[] | undefined> {
    return suspend<object[] | undefined>((resume) => {
      const child = this.child;
      if (!child.connected) return resume(undefined);
      const id = ++lastRequest;
      const onMessage = (message: FromWorker) => {
        if (message.type === 'metrics' && message.id === id) resume(message.metrics);
      };
      child.on('message', onMessage);
      const timer = setTimeout(resume, waitMs, undefined);
      child.send({ type: 'metrics', id } satisfies ToWorker, (error) => {
        if (error) resume(undefined);
      });
      return () => {
        clearTimeout(timer);
        child.off('message', onMessage);
      };
    });
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'listening' && this.ports === undefined) {
      this.ports = { port: message.port, tlsPort: message.tlsPort };
      // A stop asked for while it started: now that its handlers are in place.
      if (this.stopWanted) this.child.kill('SIGTERM');
      this.started.set();
    } else if (message.type === 'listeners-closed') {
      this.listenersClosed.set();
    }
  }
}
