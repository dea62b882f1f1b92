import type { Socket } from 'node:net';

/**
 * Whether the end of `socket`'s input was really a reset by its peer.
 *
 * libuv can report a reset as the end of the input. When one wake-up of the loop finds a
 * socket with bytes waiting and the reset behind them (the peer sent, then reset, before the
 * server got to it: a busy server, or one the kernel did not run meanwhile), `uv__read` reads
 * the bytes, sees fewer than it asked for, and `uv__stream_io` then reports the end at once
 * (its "short-circuit iff POLLHUP is set" after a partial read, deps/uv/src/unix/stream.c)
 * instead of reading again and getting ECONNRESET. The error stays pending in the kernel,
 * unread, and Node emits 'end', not 'error'.
 *
 * The kernel still knows: a reset moves the socket to CLOSE, where getpeername fails
 * (ENOTCONN), while after a polite FIN it sits in CLOSE_WAIT and still names its peer. So this
 * asks getpeername afresh (Node's `remoteAddress` keeps the first answer), once per ended
 * connection, nothing per message. Meant for a connection whose end came before the server
 * ended its own side (after our FIN, a connection that closes both ways leaves CLOSE too).
 */
export function endedByReset(socket: Socket): boolean {
  const handle = (socket as unknown as { _handle?: PeerNaming | null })._handle;
  if (typeof handle?.getpeername !== 'function') return false;
  return handle.getpeername({}) !== 0;
}

/** The part of Node's TCP handle this needs: `getpeername` returns 0 or a negative errno. */
interface PeerNaming {
  getpeername(out: object): number;
}
