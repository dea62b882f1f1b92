import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { Mailbox, type Operation } from '../tasks/index.js';
import { StartupError } from './errors.js';
import { haveOwnSockets, ownAcceptor } from './own-sockets.js';
import { guardErrors } from './socket-events.js';
import type { SocketReads } from './socket-reads.js';
import type { ListenerName } from './stats.js';

/**
 * A listening socket seen from a task: `accept()` waits for the next client, like
 * `socket.accept()` in the lesson (docs/lesson.md). Clients reach the acceptor through a
 * mailbox, in the order they came; each reads as `reads` says.
 *
 * Without the native socket helper, the sockets are the ones libuv accepted, paused until
 * their connection starts reading. With it, the native path (`ownAcceptor`, own-sockets.ts)
 * takes over each socket libuv hands over and accepts the rest of the kernel's queue itself.
 */
export class Listener {
  private readonly arrivals = new Mailbox<Socket>();
  private readonly take = (socket: Socket): void => {
    // Until its connection takes it over, a reset on a waiting socket must go nowhere.
    guardErrors(socket);
    if (this.arrivals.isEnded) socket.destroy();
    else this.arrivals.put(socket);
  };

  constructor(
    private readonly server: Server,
    readonly name: ListenerName,
    readonly reads: SocketReads,
  ) {
    server.on('connection', haveOwnSockets ? ownAcceptor(server, reads.onread, this.take) : this.take);
  }

  /** The address it listens on. */
  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Waits for the next client; `null` once the listener is closed. */
  accept(): Operation<Socket | null> {
    return this.arrivals;
  }

  /** Stops accepting: new connection attempts are refused from now on. Idempotent. */
  close(): void {
    if (this.arrivals.isEnded) return;
    this.server.close();
    for (const socket of this.arrivals.discard()) socket.destroy();
    this.arrivals.end();
  }
}

/** What `listen` needs to know. */
export interface ListenOptions {
  host: string;
  port: number;
  backlog: number;
  reusePort: boolean;
}

/** Opens a listening socket; fails with a StartupError that names the problem (port in use...). */
export function listen(options: ListenOptions): Promise<Server> {
  const { host, port, backlog } = options;
  // Paused on connect: the listener takes each socket over before anything is read from it.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true });
  return new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog, ...(options.reusePort ? { reusePort: true } : {}) }, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  }).catch((error: NodeJS.ErrnoException) => {
    throw StartupError.fromListen(error, host, port);
  });
}
