import type { Server, Socket } from 'node:net';
import { Mailbox, type Operation } from '../tasks/index.js';
import { acceptWaiting } from './accept-queue.js';

/**
 * A listening socket seen from a task: `accept()` waits for the next client, like
 * `socket.accept()` in the lesson. Each time libuv hands over a connection, the rest of the
 * kernel's accept queue is taken too (see `accept-queue.ts`), so a busy loop keeps up with
 * arriving clients; they reach the acceptor through a mailbox, in the order they came.
 */
export class Listener {
  private readonly arrivals = new Mailbox<Socket>();
  private readonly take = (socket: Socket): void => {
    // Until its connection takes it over, a reset on a waiting socket must go nowhere.
    socket.on('error', ignore);
    if (this.arrivals.isEnded) socket.destroy();
    else this.arrivals.put(socket);
  };

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.take(socket);
      acceptWaiting(server, this.take);
    });
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
