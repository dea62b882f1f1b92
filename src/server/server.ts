import net from 'node:net';
import type { Logger } from '../log.js';
import { Group, Pool, spawn, type Operation, type Task } from '../tasks/index.js';
import { CLOSE_DEADLINE_MS, Connection, OWN_READS } from './connection.js';
import { echo } from './echo.js';
import { StartupError } from './errors.js';
import { Listener } from './listener.js';
import { haveOwnSockets } from './own-sockets.js';
import { RateLimitedWarning } from './rate-limited-warning.js';
import { ServerStats } from './stats.js';

/** How `startEchoServer` listens and treats its clients; every field has a default. */
export interface ServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `server.port`. */
  port: number;
  backlog: number;
  /** Connections past this many are closed at once and counted; 0 means no limit. */
  maxConnections: number;
  /** A connection with no traffic for this long is closed; 0 means never. */
  idleTimeoutMs: number;
  /** How long `shutdown` lets connections finish before it ends them. */
  shutdownTimeoutMs: number;
  logger?: Logger;
}

/** The defaults, as `echo-server` documents them (`--help` shows these very values). */
export const DEFAULT_SERVER_OPTIONS: Readonly<ServerOptions> = {
  host: '127.0.0.1',
  port: 8090,
  // Node's default is 511. A load-testing target meets connection bursts: with 10,000 clients
  // at 2,000/s, 511 overflowed (SYN retries, 1 s connects) where 4,096 did not. Linux caps it
  // at net.core.somaxconn (4,096 by default since 5.4).
  backlog: 4096,
  maxConnections: 0,
  idleTimeoutMs: 0,
  shutdownTimeoutMs: 5000,
};

/** What `shutdown` did, for the last log line. */
export interface ShutdownReport {
  /** Connections still open when shutdown began. */
  connections: number;
  /** Of those, the ones still open after `shutdownTimeoutMs`, which the server then ended. */
  ended: number;
}

/**
 * The echo server, built the way gevent's `StreamServer` is: a listening socket, an acceptor
 * task that spawns one echo task per client into a group (a pool when connections are
 * limited), and shutdown as one more task that closes the listener, joins the group with a
 * timeout, and ends what is left. All on this one thread.
 *
 * @example
 *   const server = await startEchoServer({ port: 0 });
 *   console.log(server.port);
 *   await server.shutdown();
 */
export class EchoServer {
  readonly stats = new ServerStats();
  /** False once shutdown has begun: the health endpoint reports it. */
  serving = true;
  /** The echo tasks, one per open connection. */
  readonly tasks: Group | Pool;
  readonly listener: Listener;
  private readonly acceptor: Task<void>;
  private stopper: Task<ShutdownReport> | undefined;
  readonly limitWarning: RateLimitedWarning;
  readonly acceptWarning: RateLimitedWarning;

  private constructor(
    private readonly server: net.Server,
    readonly options: ServerOptions,
  ) {
    const log = options.logger;
    this.tasks = options.maxConnections > 0 ? new Pool(options.maxConnections) : new Group();
    this.limitWarning = new RateLimitedWarning(log, 'connection limit reached: closing new connections');
    this.acceptWarning = new RateLimitedWarning(log, 'accept failed: serving existing clients, retrying');
    this.listener = new Listener(server, haveOwnSockets ? OWN_READS : undefined);
    // Accept errors are per attempt: the listening socket stays open. (Out of descriptors,
    // EMFILE, rarely gets here: libuv accepts and closes such connections with a reserve
    // descriptor, and the server accepts again as soon as descriptors free up.)
    server.on('error', (error: NodeJS.ErrnoException) => {
      this.acceptWarning.hit({ code: error.code });
    });
    this.acceptor = spawn(serve, this.listener, this);
    this.acceptor.name = 'acceptor';
  }

  static async start(overrides: Partial<ServerOptions> = {}): Promise<EchoServer> {
    const options = { ...DEFAULT_SERVER_OPTIONS, ...overrides };
    // Paused on connect: the listener takes each socket over before anything is read from it.
    const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port, backlog: options.backlog }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      throw StartupError.fromListen(error, options.host, options.port);
    });
    return new EchoServer(server, options);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get host(): string {
    return (this.server.address() as net.AddressInfo).address;
  }

  /** Whether the server accepts and reads its sockets itself (see own-sockets.ts). */
  get ownsSockets(): boolean {
    return haveOwnSockets;
  }

  /** Takes a freshly accepted socket: an echo task of its own, or, past the limit, the door. */
  adopt(socket: net.Socket): void {
    if (this.tasks.full()) {
      this.stats.connectionsRejected++;
      this.limitWarning.hit({ maxConnections: this.options.maxConnections });
      socket.destroy(); // the listener already gave it an error listener
      return;
    }
    this.stats.connectionsAccepted++;
    const connection = new Connection(socket, this.stats);
    if (this.options.idleTimeoutMs > 0) connection.closeWhenIdle(this.options.idleTimeoutMs);
    const task = spawn(echo, connection, this.stats);
    task.name = 'conn';
    task.about = connection; // described as its remote address, only if ever reported
    this.tasks.add(task);
  }

  /**
   * Graceful shutdown: stop accepting (new connections are refused), report unhealthy, let
   * connections finish for up to `shutdownTimeoutMs`, then stop reading from the rest: each
   * still echoes what it had already read, then closes. Idempotent.
   */
  shutdown(): Promise<ShutdownReport> {
    this.stopper ??= spawn(stop, this);
    return Promise.resolve(this.stopper.get());
  }
}

/** The lesson's server loop: accept a client, spawn a task for it, accept the next. */
function* serve(listener: Listener, server: EchoServer): Operation<void> {
  for (;;) {
    const socket = yield* listener.accept();
    if (socket === null) return;
    server.adopt(socket);
  }
}

/** Shutdown, as a task: close the listener, join the clients with a timeout, end the rest. */
function* stop(server: EchoServer): Operation<ShutdownReport> {
  const { tasks, options } = server;
  server.serving = false;
  server.listener.close();
  const connections = tasks.size;
  options.logger?.info({ connections, timeoutMs: options.shutdownTimeoutMs }, 'shutdown begun');
  let ended = 0;
  if (!(yield* tasks.join(options.shutdownTimeoutMs))) {
    ended = tasks.size;
    for (const task of tasks) connectionOf(task).stopReading('shutdown');
    // Each connection closes itself within its close deadline; this bound is a safety net.
    if (!(yield* tasks.join(2 * CLOSE_DEADLINE_MS))) {
      tasks.kill();
      yield* tasks.join();
    }
  }
  server.limitWarning.flush();
  server.acceptWarning.flush();
  const s = server.stats;
  options.logger?.info(
    {
      connections,
      ended,
      accepted: s.connectionsAccepted,
      rejected: s.connectionsRejected,
      bytesReceived: s.bytesReceived,
      bytesSent: s.bytesSent,
    },
    'shutdown done',
  );
  return { connections, ended };
}

/** An echo task's connection: the server names each task after it (`task.about`). */
function connectionOf(task: Task<unknown>): Connection {
  return task.about as Connection;
}

/** Starts an echo server; resolves once it listens. See `EchoServer`. */
export function startEchoServer(options: Partial<ServerOptions> = {}): Promise<EchoServer> {
  return EchoServer.start(options);
}
