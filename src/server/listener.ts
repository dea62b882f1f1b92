import type { AddressInfo, Server, Socket } from 'node:net';
import { Mailbox, type Operation } from '../tasks/index.js';
import { acceptWaiting, haveOwnSockets, socketFromDescriptor, takeOver, watchNewSocketsSoon, type OwnReads } from './own-sockets.js';
import type { ListenerName } from './stats.js';

/**
 * A listening socket seen from a task: `accept()` waits for the next client, like
 * `socket.accept()` in the lesson. Clients reach the acceptor through a mailbox, in the order
 * they came.
 *
 * With the native socket helper, each time libuv hands over a connection, the listener takes
 * it over and then accepts the rest of the kernel's queue itself (see own-sockets.ts),
 * building each socket to read into `reads`' buffer. When `reads` is undefined (TLS, which
 * takes the socket over later and reads through streams), libuv's socket is kept as it is,
 * and only the rest of the queue is accepted here.
 * Without the helper, the sockets are the ones libuv accepted, paused until their connection
 * starts reading.
 */
export class Listener {
  private readonly arrivals = new Mailbox<Socket>();
  private readonly take = (socket: Socket): void => {
    // Until its connection takes it over, a reset on a waiting socket must go nowhere.
    socket.on('error', ignore);
    if (this.arrivals.isEnded) socket.destroy();
    else this.arrivals.put(socket);
  };
  private readonly takeDescriptor = (fd: number): void => {
    const socket = socketFromDescriptor(fd, this.reads);
    if (socket !== undefined) this.take(socket);
  };

  constructor(
    private readonly server: Server,
    readonly name: ListenerName,
    private readonly reads: OwnReads | undefined,
  ) {
    server.on('connection', (socket: Socket) => {
      if (!haveOwnSockets) return this.take(socket);
      if (this.reads === undefined) {
        // Reading through its stream anyway (TLS): libuv's socket will do, no second descriptor.
        this.take(socket);
      } else {
        const fd = takeOver(socket);
        if (fd === undefined) socket.destroy(); // out of descriptors: this client cannot be served now
        else this.takeDescriptor(fd);
      }
      acceptWaiting(server, this.takeDescriptor);
      watchNewSocketsSoon();
    });
  }

  /** Whether its sockets read into the shared buffer (else through their streams). */
  get ownReads(): boolean {
    return haveOwnSockets && this.reads !== undefined;
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

function ignore(): void {}
