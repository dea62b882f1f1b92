import type { Socket } from 'node:net';
import type { OwnReads } from './own-sockets.js';
import type { SocketOwner } from './socket-events.js';

/**
 * How a connection's socket reads: the two ways are `STREAM_READS` (stream-reads.ts, Node's
 * stream, the way any Node program reads) and `OWN_READS` (own-reads.ts, the native helper's
 * sockets reading into one shared buffer, the fast path). Either way each chunk reaches its
 * connection's `received` through a per-chunk callback of that way's own, so the calls made
 * per chunk stay the same for every connection; these methods run once or twice in a
 * connection's life.
 */
export interface SocketReads {
  /** How a socket built from a descriptor reads (`new net.Socket({ onread })`); undefined: through its stream. */
  readonly onread: OwnReads | undefined;
  /** Starts handing the socket's chunks to its owner's `received` (paused or not, as it is). */
  start(socket: Socket): void;
  /** Stops handing chunks over; what Node has already read stays in the socket. */
  stop(socket: Socket): void;
  /** Hands `owner` what Node has read from the kernel but not yet handed over. */
  flush(socket: Socket, owner: SocketOwner): void;
}
