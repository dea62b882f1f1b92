import type net from 'node:net';

/** What a socket's listeners ask of the connection that owns the socket (`LoadConnection`). */
export interface SocketOwner {
  readonly index: number;
  connected(): void;
  secured(): void;
  onData(chunk: Buffer): void;
  closedByServer(note: string): void;
  failWith(error: NodeJS.ErrnoException): void;
}

/**
 * Where the socket listeners find their connection: no closure per socket for them, and no
 * property on the socket (one more property on a socket makes the loads in Node's own
 * per-message path megamorphic: see `owners` in src/server/socket-events.ts). Looked up per
 * socket event (connect, end, close, error); reads arrive through `onread`, except on one
 * path: TLS after a PROXY header reads `data` events, one lookup per read.
 */
export const owners = new WeakMap<net.Socket, SocketOwner>();

/** Every socket of a connection gets its listeners, `error` first. */
export function watch(socket: net.Socket, owner: SocketOwner): void {
  owners.set(socket, owner);
  socket.on('error', onSocketError);
  socket.on('end', onSocketEnd);
  socket.on('close', onSocketClose);
}

// The listeners, one function each for every socket: each hands its event to the owner.

/** A socket error: the connection fails with it. */
export function onSocketError(this: net.Socket, error: NodeJS.ErrnoException): void {
  owners.get(this)!.failWith(error);
}

/** TCP is up (TLS: its handshake starts). */
export function onSocketConnect(this: net.Socket): void {
  owners.get(this)!.connected();
}

/** The TLS handshake is done. */
export function onSecureConnect(this: net.Socket): void {
  owners.get(this)!.secured();
}

/** A chunk read through the stream (TLS after a PROXY header). */
export function onSocketData(this: net.Socket, chunk: Buffer): void {
  owners.get(this)!.onData(chunk);
}

/** The server sent FIN. */
export function onSocketEnd(this: net.Socket): void {
  const connection = owners.get(this)!;
  connection.closedByServer(`closed by the server (end of stream), connection ${connection.index}`);
}

/** The socket closed: a failure unless the connection had finished (`closedByServer`). */
export function onSocketClose(this: net.Socket): void {
  const connection = owners.get(this)!;
  connection.closedByServer(`closed, connection ${connection.index}`);
}
