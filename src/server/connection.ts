import { DONE, suspend, type Operation } from '../tasks/index.js';
import { Drained } from './drained.js';
import { CLOSE_DEADLINE_MS, destroy, ServedSocket } from './served-socket.js';
import { waitForDrain } from './socket-events.js';

export { CLOSE_DEADLINE_MS };

/**
 * One client's socket, seen from its task as blocking calls, like a gevent socket: `recv()`
 * waits for the next chunk (null at the end), `send()` waits only while the socket's write
 * buffer is full, `close()` waits until the socket is really closed.
 *
 * Beneath the three calls (served-socket.ts): the socket's events fill an inbox that `recv`
 * reads, and the server's controls (stop reading, close when idle, TLS) act on it.
 */
export class Connection extends ServedSocket {
  /**
   * Waits for the next chunk the client sent; `null` once there will be no more. The chunk is
   * the task's own, to keep or to change in place (`upperInPlace`).
   */
  recv(): Operation<Buffer | null> {
    return this.inbox;
  }

  /**
   * Writes `data` at once; the returned operation waits (a switch point) only while the
   * socket's write buffer is full: `yield* connection.send(data)`.
   */
  send(data: Buffer): Operation<void> {
    const socket = this.socket;
    if (socket.destroyed) return DONE; // broken: the bytes have nowhere to go
    this.stats.bytesSent += data.length;
    if (socket.write(data)) return DONE;
    this.stats.backpressurePauses++;
    waitForDrain(socket);
    return (this.drained ??= new Drained(this));
  }

  /**
   * Ends the connection politely (everything written is flushed, then FIN) and waits until
   * the socket has closed. A client that never reads cannot hold it forever: after
   * `CLOSE_DEADLINE_MS` the socket is destroyed. A task killed while it waits here destroys
   * the socket at once.
   */
  close(): Operation<void> {
    const socket = this.socket;
    if (!socket.destroyed && !this.ending) {
      this.ending = true;
      if (this.reason === 'idle' || this.reason === 'shutdown') {
        // The server stopped reading: let further input flow, to `received`, which drops it
        // uncounted, so that the client's FIN gets through and the socket closes now rather
        // than at the deadline.
        this.reads.start(socket);
        socket.resume();
      }
      socket.end();
      this.closeTimer ??= setTimeout(destroy, CLOSE_DEADLINE_MS, socket);
    }
    return suspend<void>((resume) => {
      if (this.closedForGood) return resume();
      this.whenClosed = resume;
      return () => {
        this.whenClosed = undefined;
        if (!this.closedForGood) socket.destroy();
      };
    });
  }
}
