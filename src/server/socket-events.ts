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
 * Gives a socket that no connection owns yet an error listener that does nothing. A socket
 * with no 'error' listener turns a reset into an uncaught exception that ends the process, so
 * every served socket has one at every moment: this from accept (listener.ts) until
 * `listenTo`, the owner's from `listenTo` until `stopListening`, and this again after (the raw
 * socket under a TLS handshake, or one no connection will take).
 */
export function guardErrors(socket: Socket): void {
  socket.on('error', swallow);
}

/**
 * Makes `owner` the one `socket`'s events go to: error, end and close. The listeners are
 * module-level functions, the same for every socket: nothing is allocated per socket or per
 * event. The owner's error listener replaces `guardErrors`' (added first, then the guard goes,
 * so the socket is never without one): a socket with two 'error' listeners holds them in an
 * array, 64 bytes that each of tens of thousands of idle connections would carry for nothing.
 */
export function listenTo(socket: Socket, owner: SocketOwner): void {
  owners.set(socket, owner);
  socket.on('error', onError);
  socket.removeListener('error', swallow);
  socket.on('end', onEnd);
  socket.on('close', onClose);
}

/**
 * Undoes `listenTo` (and removes a 'drain' listener `waitForDrain` left); the socket keeps an
 * error listener (`guardErrors`), as whoever takes it next (a TLS handshake) may give it none.
 */
export function stopListening(socket: Socket): void {
  guardErrors(socket);
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

/** An error on a socket no connection owns: it is destroyed or handed on; nobody waits on it. */
function swallow(): void {}
