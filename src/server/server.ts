import net from 'node:net';
import type { Logger } from '../log.js';
import { Event, Group, Pool, spawn, type Operation, type Task } from '../tasks/index.js';
import { serveClient, type ClientSetup } from './client.js';
import { CLOSE_DEADLINE_MS, Connection, OWN_READS } from './connection.js';
import { StartupError } from './errors.js';
import { Listener } from './listener.js';
import { haveOwnSockets } from './own-sockets.js';
import type { ProxyProtocolMode } from './proxy-protocol/index.js';
import { RateLimitedWarning } from './rate-limited-warning.js';
import type { Subnet } from '../parse-option.js';
import { trustedPeers } from './receive-proxy-header.js';
import { ServerStats, type ListenerName } from './stats.js';
import { TlsConfigError, TlsEndpoint, type TlsSettings } from './tls.js';

/** How `startEchoServer` listens and treats its clients; every field has a default. */
export interface ServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `server.port`. */
  port: number;
  /** Whether to listen for plain TCP at all (false: TLS only). */
  plain: boolean;
  /** The TLS listener, beside the plain one: off while undefined. */
  tls: (TlsSettings & { port: number }) | undefined;
  /** PROXY protocol headers first on every connection: off while undefined. */
  proxy: { mode: ProxyProtocolMode; trusted: readonly Subnet[] | undefined; headerTimeoutMs: number } | undefined;
  backlog: number;
  /**
   * Share the ports with other servers that set it too (SO_REUSEPORT: the kernel spreads
   * connections over them; Linux, Node.js 22.12 or later): how `--workers` runs its copies.
   */
  reusePort: boolean;
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
  plain: true,
  tls: undefined,
  proxy: undefined,
  // Node's default is 511. A load-testing target meets connection bursts: with 10,000 clients
  // at 2,000/s, 511 overflowed (SYN retries, 1 s connects) where 4,096 did not. Linux caps it
  // at net.core.somaxconn (4,096 by default since 5.4).
  backlog: 4096,
  reusePort: false,
  maxConnections: 0,
  idleTimeoutMs: 0,
  shutdownTimeoutMs: 5000,
};

/** The TLS listener's default port, as `--tls-port` documents it. */
export const DEFAULT_TLS_PORT = 8443;

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
 * one more task, joins the group with a timeout and ends what is left. All on this one thread.
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
  /** The client tasks, one per open connection. */
  readonly tasks: Group | Pool;
  readonly listeners: readonly Listener[];
  readonly tls: TlsEndpoint | undefined;
  private readonly setups: Record<ListenerName, ClientSetup>;
  private stopper: Task<ShutdownReport> | undefined;
  readonly limitWarning: RateLimitedWarning;
  readonly acceptWarning: RateLimitedWarning;

  private constructor(
    servers: Array<[ListenerName, net.Server]>,
    tls: TlsEndpoint | undefined,
    readonly options: ServerOptions,
  ) {
    const log = options.logger;
    this.tls = tls;
    this.tasks = options.maxConnections > 0 ? new Pool(options.maxConnections) : new Group();
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
      // A TLS socket reads through its own stream; only plain sockets read into the shared buffer.
      const listener = new Listener(server, name, name === 'plain' ? OWN_READS : undefined);
      spawn(acceptLoop, listener, this).name = `acceptor ${name}`;
      return listener;
    });
  }

  static async start(overrides: Partial<ServerOptions> = {}): Promise<EchoServer> {
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
    const servers: Array<[ListenerName, net.Server]> = [];
    try {
      for (const [name, port] of wanted) servers.push([name, await listen(options, port)]);
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

  /** Takes a freshly accepted socket: a task of its own, or, past the limit, the door. */
  adopt(listener: Listener, socket: net.Socket): void {
    if (this.tasks.full()) {
      this.stats.connectionsRejected++;
      this.limitWarning.hit({ maxConnections: this.options.maxConnections });
      socket.destroy(); // the listener already gave it an error listener
      return;
    }
    this.stats.acceptedBy[listener.name]++;
    const connection = new Connection(socket, this.stats, listener.name, listener.ownReads);
    if (this.options.idleTimeoutMs > 0) connection.closeWhenIdle(this.options.idleTimeoutMs);
    const task = spawn(serveClient, connection, this.stats, this.setups[listener.name]);
    task.name = 'conn';
    task.about = connection; // described as its client, only if ever reported
    this.tasks.add(task);
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
      this.stopper = spawn(stop, this);
    }
    return Promise.resolve(this.stopper.get());
  }
}

function listen(options: ServerOptions, port: number): Promise<net.Server> {
  // Paused on connect: the listener takes each socket over before anything is read from it.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true });
  return new Promise<net.Server>((resolve, reject) => {
    server.once('error', reject);
    const listenOptions = { host: options.host, port, backlog: options.backlog, ...(options.reusePort ? { reusePort: true } : {}) };
    server.listen(listenOptions, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  }).catch((error: NodeJS.ErrnoException) => {
    throw StartupError.fromListen(error, options.host, port);
  });
}

/** The lesson's server loop: accept a client, spawn a task for it, accept the next. */
function* acceptLoop(listener: Listener, server: EchoServer): Operation<void> {
  for (;;) {
    const socket = yield* listener.accept();
    if (socket === null) return;
    server.adopt(listener, socket);
  }
}

/** Shutdown, as a task, once the listeners are closed: join the clients with a timeout, end the rest. */
function* stop(server: EchoServer): Operation<ShutdownReport> {
  const { tasks, options } = server;
  server.stopping.set();
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

/** A client task's connection: the server names each task after it (`task.about`). */
function connectionOf(task: Task<unknown>): Connection {
  return task.about as Connection;
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
