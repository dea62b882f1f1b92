import net from 'node:net';
import type { Logger } from '../log.js';
import { spawn, type Operation, type Task } from '../tasks/index.js';
import { CLOSE_DEADLINE_MS, Connection } from './connection.js';
import { echo } from './echo.js';
import { StartupError } from './errors.js';
import { Listener } from './listener.js';
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

/** The defaults, as `echo-server` documents them (`--help`). */
export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  host: '127.0.0.1',
  port: 8090,
  backlog: 511,
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
 * The echo server: one listening socket, one acceptor task, one echo task per client, all on
 * this one thread.
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
  private readonly connections = new Set<Connection>();
  private readonly listener: Listener;
  private readonly acceptor: Task<void>;
  private readonly limitWarning: RateLimitedWarning;
  private readonly acceptWarning: RateLimitedWarning;
  private shutdownPromise: Promise<ShutdownReport> | undefined;
  private whenEmpty: (() => void) | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly options: ServerOptions,
  ) {
    const log = options.logger;
    this.limitWarning = new RateLimitedWarning(log, 'connection limit reached: closing new connections');
    this.acceptWarning = new RateLimitedWarning(log, 'accept failed: serving existing clients, retrying');
    this.listener = new Listener(server);
    // Accept errors are per attempt: the listening socket stays open. (Out of descriptors,
    // EMFILE, rarely gets here: libuv accepts and closes such connections with a reserve
    // descriptor, and the server accepts again as soon as descriptors free up.)
    server.on('error', (error: NodeJS.ErrnoException) => {
      this.acceptWarning.hit({ code: error.code });
    });
    this.acceptor = spawn(acceptLoop, this.listener, this);
    this.acceptor.name = 'acceptor';
  }

  static async start(overrides: Partial<ServerOptions> = {}): Promise<EchoServer> {
    const options = { ...DEFAULT_SERVER_OPTIONS, ...overrides };
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
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

  /** Takes a freshly accepted socket: an echo task of its own, or, past the limit, the door. */
  adopt(socket: net.Socket): void {
    const { maxConnections, idleTimeoutMs } = this.options;
    if (maxConnections > 0 && this.connections.size >= maxConnections) {
      this.stats.connectionsRejected++;
      this.limitWarning.hit({ maxConnections });
      socket.destroy(); // the listener already gave it an error listener
      return;
    }
    this.stats.connectionsAccepted++;
    this.stats.connectionsActive++;
    const connection = new Connection(socket, this.stats, this.forget);
    if (idleTimeoutMs > 0) connection.closeWhenIdle(idleTimeoutMs);
    this.connections.add(connection);
    const task = spawn(echo, connection);
    task.name = 'conn';
    task.about = connection; // described as its remote address, only if ever reported
    connection.task = task;
  }

  /**
   * Graceful shutdown: stop accepting (new connections are refused), report unhealthy, let
   * connections finish for up to `shutdownTimeoutMs`, then stop reading from the rest: each
   * still echoes what it had already read, then closes. Idempotent.
   */
  shutdown(): Promise<ShutdownReport> {
    this.shutdownPromise ??= this.drain();
    return this.shutdownPromise;
  }

  private async drain(): Promise<ShutdownReport> {
    this.serving = false;
    this.listener.close();
    const connections = this.connections.size;
    this.options.logger?.info({ connections, timeoutMs: this.options.shutdownTimeoutMs }, 'shutdown begun');
    await this.allClosed(this.options.shutdownTimeoutMs);
    const ended = this.connections.size;
    for (const connection of this.connections) connection.stopReading('shutdown');
    // Each connection closes itself within its close deadline; this bound is a safety net.
    if (!(await this.allClosed(2 * CLOSE_DEADLINE_MS))) {
      for (const connection of this.connections) connection.socket.destroy();
      for (const connection of this.connections) connection.task?.kill();
    }
    this.acceptor.kill();
    this.limitWarning.flush();
    this.acceptWarning.flush();
    const s = this.stats;
    this.options.logger?.info(
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

  /** Resolves true once no connection is open, or false after `timeoutMs`. */
  private allClosed(timeoutMs: number): Promise<boolean> {
    if (this.connections.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.whenEmpty = undefined;
        resolve(false);
      }, timeoutMs);
      this.whenEmpty = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private readonly forget = (connection: Connection): void => {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.whenEmpty) {
      const done = this.whenEmpty;
      this.whenEmpty = undefined;
      done();
    }
  };
}

/** The lesson's server loop: accept a client, spawn a task for it, accept the next. */
function* acceptLoop(listener: Listener, server: EchoServer): Operation<void> {
  for (;;) {
    const socket = yield* listener.accept();
    if (socket === null) return;
    server.adopt(socket);
  }
}

/** Starts an echo server; resolves once it listens. See `EchoServer`. */
export function startEchoServer(options: Partial<ServerOptions> = {}): Promise<EchoServer> {
  return EchoServer.start(options);
}
