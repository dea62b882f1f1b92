import type { Socket } from 'node:net';
import { owners, type SocketOwner } from './socket-events.js';
import type { SocketReads } from './socket-reads.js';

/**
 * Reading through Node's stream: each 'data' chunk is a fresh buffer, the connection's to keep.
 * How a TLS socket reads, and every socket when the native helper is missing.
 */
export const STREAM_READS: SocketReads = {
  onread: undefined,
  start(socket: Socket): void {
    socket.on('data', onData);
    socket.resume();
  },
  stop(socket: Socket): void {
    socket.removeListener('data', onData);
  },
  flush(socket: Socket, owner: SocketOwner): void {
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) owner.received(chunk);
  },
};

function onData(this: Socket, chunk: Buffer): void {
  owners.get(this)!.received(chunk);
}
