import type { Server, Socket } from 'node:net';
import { suspend, type Operation, type Resume, type Suspension } from '../tasks/index.js';

/**
 * A listening socket seen from a task: `accept()` waits for the next client, like
 * `socket.accept()` in the lesson. Sockets that arrive while the acceptor is busy wait in
 * a short list.
 */
export class Listener {
  private readonly waiting: Socket[] = [];
  private acceptor: Resume<Socket | null> | undefined;
  private closed = false;
  private readonly nextSocket: Suspension<Socket | null>;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      // Until its connection takes it over, a reset on a waiting socket must go nowhere.
      socket.on('error', ignore);
      if (this.closed) return void socket.destroy();
      const acceptor = this.acceptor;
      if (acceptor) acceptor(socket);
      else this.waiting.push(socket);
    });
    this.nextSocket = suspend<Socket | null>((resume) => {
      this.acceptor = resume;
      return () => (this.acceptor = undefined);
    });
  }

  /** Waits for the next client; `null` once the listener is closed. */
  *accept(): Operation<Socket | null> {
    const socket = this.waiting.shift();
    if (socket !== undefined) return socket;
    if (this.closed) return null;
    return yield* this.nextSocket;
  }

  /** Stops accepting: new connection attempts are refused from now on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const socket of this.waiting.splice(0)) socket.destroy();
    const acceptor = this.acceptor;
    if (acceptor) acceptor(null);
  }
}

function ignore(): void {}
