import type { Server, Socket } from 'node:net';
import type { Logger } from '../log.js';
import { Event, Group, Pool, spawn, type AnyTask, type Operation, type Task } from '../tasks/index.js';
import { serveClient, type ClientSetup } from './client.js';
import { CLOSE_DEADLINE_MS, Connection } from './connection.js';
import { StartupError } from './errors.js';
import { listen, Listener } from './listener.js';
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from './options.js';
import { OWN_READS } from './own-reads.js';
import { haveOwnSockets, startOwnSockets } from './own-sockets.js';
import { RateLimitedWarning } from './rate-limited-warning.js';
import { trustedPeers } from './receive-proxy-header.js';
import { ServerStats, type ListenerName } from './stats.js';
import { STREAM_READS } from './stream-reads.js';
import { TlsConfigError, TlsEndpoint } from './tls.js';

/** What `shutdown` did, for the last log line. */
export interface ShutdownReport {
  /** Connections still open when shutdown began. */
  connections: number;
  /** Of those, the ones still open after `shutdownTimeoutMs`, which the server then ended. */
  ended: number;
}

/**
 * The echo server, built the way gevent's `StreamServer` is: a listening socket (or two: plain
 * and TLS), an acceptor task per listener that spawns one task per client into a group (a pool
 * when connections are limited), and shutdown, which closes the listeners at once, then, as
 * one more task, joins the acceptors and the clients (with a timeout) and ends what is left.
 * The server owns all of these tasks. All on this one thread.
 *
 * @example
 *   const server = await startEchoServer({ port: 0 });
 *   console.log(server.port);
 *   await server.shutdown();
 */
export class EchoServer {
  readonly stats = new ServerStats();
  /** Set once shutdown has begun: `yield* server.stopping.wait()`, or `await` it. */
  readonly stopping = new Event();
  readonly listeners: readonly Listener[];
  readonly tls: TlsEndpoint | undefined;
  /** The acceptor tasks, one per listener. */
  private readonly acceptors = new Group();
  /** The client tasks, one per open connection. */
  private readonly clients: Group | Pool;
  private readonly setups: Record<ListenerName, ClientSetup>;
  private readonly limitWarning: RateLimitedWarning;
  private readonly acceptWarning: RateLimitedWarning;
  private stopper: Task<ShutdownReport> | undefined;

  private constructor(
    servers: Array<[ListenerName, Server]>,
    tls: TlsEndpoint | undefined,
    readonly options: ServerOptions,
  ) {
    const log = options.logger;
    this.tls = tls;
    this.clients = options.maxConnections > 0 ? new Pool(options.maxConnections) : new Group();
    this.limitWarning = new RateLimitedWarning(log, 'connection limit reached: closing new connections');
    this.acceptWarning = new RateLimitedWarning(log, 'accept failed: serving existing clients, retrying');
    const proxy = options.proxy && {
      mode: options.proxy.mode,
      trusted: options.proxy.trusted && trustedPeers(options.proxy.trusted),
      headerTimeoutMs: options.proxy.headerTimeoutMs,
    };
    const trace = traceFor(log);
    this.setups = { plain: { proxy, tls: undefined, trace }, tls: { proxy, tls, trace } };
    this.listeners = servers.map(([name, server]) => {
      // Accept errors are per attempt: the listening socket stays open. (Out of descriptors,
      // EMFILE, rarely gets here: libuv accepts and closes such connections with a reserve
      // descriptor, and the server accepts again as soon as descriptors free up.)
      server.on('error', (error: NodeJS.ErrnoException) => this.acceptWarning.hit({ code: error.code, listener: name }));
      // A TLS socket reads through its own stream; only plain sockets can read on the native path.
      const listener = new Listener(server, name, name === 'plain' && haveOwnSockets ? OWN_READS : STREAM_READS);
      this.acceptors.spawn(() => this.acceptLoop(listener)).name = `acceptor ${name}`;
      return listener;
    });
  }

  static async start(overrides: Partial<ServerOptions> = {}): Promise<EchoServer> {
    startOwnSockets();
    const options = { ...DEFAULT_SERVER_OPTIONS, ...overrides };
    let tls: TlsEndpoint | undefined;
    try {
      tls = options.tls && new TlsEndpoint(options.tls);
    } catch (error) {
      if (error instanceof TlsConfigError) throw new StartupError(error.code, error.message);
      throw error;
    }
    const wanted: Array<[ListenerName, number]> = [];
    if (options.plain) wanted.push(['plain', options.port]);
    if (options.tls) wanted.push(['tls', options.tls.port]);
    if (wanted.length === 0) throw new StartupError('ENOLISTENER', 'nothing to listen on: plain TCP is off and no TLS certificate was given');
    const servers: Array<[ListenerName, Server]> = [];
    try {
      for (const [name, port] of wanted) servers.push([name, await listen({ ...options, port })]);
    } catch (error) {
      for (const [, server] of servers) server.close();
      throw error;
    }
    return new EchoServer(servers, tls, options);
  }

  /** The plain listener's port (the TLS one's if there is no plain listener). */
  get port(): number {
    return this.listeners[0]!.address.port;
  }

  /** The TLS listener's port, if there is one. */
  get tlsPort(): number | undefined {
    return this.listeners.find((listener) => listener.name === 'tls')?.address.port;
  }

  get host(): string {
    return this.listeners[0]!.address.address;
  }

  /** True until shutdown begins. */
  get serving(): boolean {
    return !this.stopping.isSet();
  }

  /** Whether the server accepts and reads its sockets itself (see own-sockets.ts). */
  get ownsSockets(): boolean {
    return haveOwnSockets;
  }

  /** The server loop of docs/lesson.md: accept a client, spawn a task for it, accept the next. */
  private *acceptLoop(listener: Listener): Operation<void> {
    for (;;) {
      const socket = yield* listener.accept();
      if (socket === null) return;
      this.adopt(listener, socket);
    }
  }

  /** Takes a freshly accepted socket: a task of its own, or, past the limit, the door. */
  private adopt(listener: Listener, socket: Socket): void {
    if (this.clients.full()) {
      this.stats.connectionsRejected++;
      this.limitWarning.hit({ maxConnections: this.options.maxConnections });
      socket.destroy(); // the listener already gave it an error listener
      return;
    }
    this.stats.acceptedBy[listener.name]++;
    const connection = new Connection(socket, this.stats, listener.name, listener.reads);
    if (this.options.idleTimeoutMs > 0) connection.closeWhenIdle(this.options.idleTimeoutMs);
    const task = spawn(serveClient, connection, this.stats, this.setups[listener.name]);
    task.name = 'conn';
    // Described as its client, only if ever reported; and how shutdown finds the connection
    // (connectionOf): no map from task to connection, whose entry each idle connection would carry.
    task.about = connection;
    this.clients.add(task);
  }

  /**
   * Reads the TLS certificate, key and CA files again (SIGHUP): new handshakes use them, open
   * connections are untouched. A file that cannot be used keeps the old certificate: this
   * throws a TlsConfigError and changes nothing. Does nothing without TLS.
   */
  reloadTls(): void {
    if (this.tls === undefined) return;
    try {
      this.tls.reload();
      this.stats.tlsReloads.ok++;
    } catch (error) {
      this.stats.tlsReloads.failed++;
      throw error;
    }
  }

  /**
   * Graceful shutdown: stop accepting (the listeners are closed when this returns: new
   * connections are refused), report unhealthy, let connections finish for up to
   * `shutdownTimeoutMs`, then stop reading from the rest: each still echoes what it had
   * already read, then closes. Idempotent.
   */
  shutdown(): Promise<ShutdownReport> {
    if (this.stopper === undefined) {
      // Closed now, not in the stop task's first step (a microtask later, after whatever the
      // caller does next: a log line, whose write can let another process take the CPU):
      // until they are closed, the kernel keeps completing handshakes for them.
      for (const listener of this.listeners) listener.close();
      this.stopper = spawn(() => this.stop());
      this.stopper.name = 'shutdown';
    }
    return Promise.resolve(this.stopper.get());
  }

  /** Shutdown, as a task, once the listeners are closed: join the acceptors, join the clients with a timeout, end the rest. */
  private *stop(): Operation<ShutdownReport> {
    const { clients, options } = this;
    this.stopping.set();
    const connections = clients.size;
    options.logger?.info({ connections, timeoutMs: options.shutdownTimeoutMs }, 'shutdown begun');
    yield* this.acceptors.join(); // each has seen its listener close
    let ended = 0;
    if (!(yield* clients.join(options.shutdownTimeoutMs))) {
      ended = clients.size;
      for (const task of clients) connectionOf(task)?.stopReading('shutdown');
      // Each connection closes itself within its close deadline; this bound is a safety net.
      if (!(yield* clients.join(2 * CLOSE_DEADLINE_MS))) {
        clients.kill();
        yield* clients.join();
      }
    }
    this.limitWarning.flush();
    this.acceptWarning.flush();
    const s = this.stats;
    const totals = { accepted: s.connectionsAccepted, rejected: s.connectionsRejected, bytesReceived: s.bytesReceived, bytesSent: s.bytesSent };
    options.logger?.info({ connections, ended, ...totals }, 'shutdown done');
    return { connections, ended };
  }
}

/** A client task's connection, which `adopt` made its `about`. */
function connectionOf(task: AnyTask): Connection | undefined {
  return task.about instanceof Connection ? task.about : undefined;
}

/** The per-connection `debug` lines, decided once: a no-op unless the logger shows debug. */
function traceFor(log: Logger | undefined): ClientSetup['trace'] {
  if (log === undefined || !log.isLevelEnabled('debug')) return () => {};
  return (event, connection, details) =>
    log.debug({ client: String(connection), peer: connection.peer, listener: connection.listener, ...details }, `connection ${event}`);
}

/** Starts an echo server; resolves once it listens. See `EchoServer`. */
export function startEchoServer(options: Partial<ServerOptions> = {}): Promise<EchoServer> {
  return EchoServer.start(options);
}
