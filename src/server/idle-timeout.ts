import type { Socket } from 'node:net';
import { msSinceDataSent } from './own-sockets.js';
import { owners } from './socket-events.js';

/**
 * Closes `socket`'s connection (politely, as at shutdown: its owner stops reading) after `ms`
 * without traffic either way. A timer per socket, Node's own; its listener is one function for
 * every socket, and added only where a timeout is set: every listener an idle socket carries
 * costs memory, times tens of thousands of sockets.
 */
export function closeWhenIdle(socket: Socket, ms: number): void {
  socket.setTimeout(ms);
  socket.on('timeout', onTimeout);
}

/** Undoes `closeWhenIdle`. */
export function stopIdleTimer(socket: Socket): void {
  socket.removeListener('timeout', onTimeout);
  socket.setTimeout(0);
}

/**
 * Node saw no traffic for the idle timeout. But Node sees bytes leave only when the kernel
 * takes them, and a client that reads slowly may take longer than the timeout to receive
 * what the kernel holds for it: if the kernel sent it data within the timeout (TCP_INFO, from
 * the native helper), that was traffic, and the connection gets another timeout. So a
 * connection is closed one to two timeouts after its last byte went out (without the native
 * helper, one timeout after Node handed it over).
 */
function onTimeout(this: Socket): void {
  const timeoutMs = this.timeout;
  const sinceSentMs = msSinceDataSent(this);
  if (timeoutMs !== undefined && sinceSentMs !== undefined && sinceSentMs < timeoutMs) {
    this.setTimeout(timeoutMs);
    return;
  }
  owners.get(this)!.stopReading('idle');
}
