import type { Socket } from 'node:net';
import type { CloseReason } from './stats.js';

/** What a socket's events become: calls on the connection that owns it (served-socket.ts). */
export interface SocketOwner {
  /** A chunk the client sent, the owner's to keep. */
  received(chunk: Buffer): void;
  /** The client sent FIN. */
  ended(): void;
  /** A socket error: ECONNRESET, EPIPE... */
  failed(): void;
  /** The write buffer has room again, or the socket is gone. */
  drainedOrGone(): void;
  /** The socket is closed for good. */
  closed(): void;
  /** The server stops reading, for `reason` (idle, shutdown). */
  stopReading(reason: CloseReason): void;
}

/**
 * Where the socket listeners find their connection. Not a property on the socket: a socket's
 * hidden class changes four times while Node constructs it, and one more property of ours made
 * the property loads inside Node's own per-message path (the `_handle` getter) megamorphic
 * (callgrind: about 740 more instructions per 64 B message, 5% of all). A WeakMap lookup
 * changes no hidden class.
 */
export const owners = new WeakMap<Socket, SocketOwner>();

/**
 * Makes `owner` the one `socket`'s events go to: error (first, so that from here on no socket
 * error can reach the process), end and close. The listeners are module-level functions, the
 * same for every socket: nothing is allocated per socket or per event.
 */
export function listenTo(socket: Socket, owner: SocketOwner): void {
  owners.set(socket, owner);
  socket.on('error', onError);
  socket.on('end', onEnd);
  socket.on('close', onClose);
}

/** Undoes `listenTo` (and removes a 'drain' listener `waitForDrain` left). */
export function stopListening(socket: Socket): void {
  socket.removeListener('error', onError);
  socket.removeListener('end', onEnd);
  socket.removeListener('close', onClose);
  socket.removeListener('drain', onDrain);
  owners.delete(socket);
}

/** Tells the owner once the socket's full write buffer has room again. */
export function waitForDrain(socket: Socket): void {
  socket.once('drain', onDrain);
}

function onEnd(this: Socket): void {
  owners.get(this)!.ended();
}

function onDrain(this: Socket): void {
  owners.get(this)!.drainedOrGone();
}

/** ECONNRESET, EPIPE and friends end this one connection; Node destroys the socket after. */
function onError(this: Socket): void {
  owners.get(this)!.failed();
}

function onClose(this: Socket): void {
  owners.get(this)!.closed();
}
