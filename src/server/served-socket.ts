import type { Socket } from 'node:net';
import { Mailbox, type MailboxHooks } from '../tasks/index.js';
import { clientName, peerOf, type ClientAddress } from './client-name.js';
import type { Drained } from './drained.js';
import { closeWhenIdle, stopIdleTimer } from './idle-timeout.js';
import { endedByReset } from './peer-reset.js';
import { listenTo, stopListening, type SocketOwner } from './socket-events.js';
import type { SocketReads } from './socket-reads.js';
import type { CloseReason, ListenerName, ServerStats } from './stats.js';

/** How long a politely closed socket may wait for its client to finish reading before it is destroyed. */
export const CLOSE_DEADLINE_MS = 2000;

/**
 * A client's socket as the server holds it, under the task's three calls (`Connection`,
 * connection.ts, is this plus `recv`, `send` and `close`): the socket's events, the inbox
 * they fill, and what the server asks of it (stop reading, close when idle, abort, hand the
 * socket to TLS and take it back).
 *
 * The socket's side arrives through module-level listeners that find their owner in a
 * WeakMap (socket-events.ts), so nothing is allocated per event. Chunks go into a mailbox that
 * the task reads; when the task is busy elsewhere (in `send`, because its client does not
 * read) and a chunk is waiting, the mailbox is full and the socket is paused, so the kernel's
 * buffers, and then TCP itself, hold the client back. How the socket reads is `reads`' part
 * (socket-reads.ts): through Node's stream, or on the native fast path.
 *
 * One class for one kind of object: only `Connection` is ever made, so every call on the
 * per-message path (`received`, the mailbox's hooks, `recv`, `send`) sees one hidden class.
 */
export class ServedSocket implements MailboxHooks, SocketOwner {
  /** The chunks read and not yet taken by the task; reused for every chunk. */
  protected readonly inbox = new Mailbox<Buffer>(this);
  protected drained: Drained | undefined; // made at the first full write buffer: most never need one
  /** Why the connection ends, unless it is the client's doing. */
  protected reason: CloseReason | undefined;
  protected closeTimer: NodeJS.Timeout | undefined;
  protected ending = false;
  protected closedForGood = false;
  protected whenClosed: (() => void) | undefined;
  private idleMs = 0;
  private client: ClientAddress | undefined;
  private _socket!: Socket;

  /** @param listener the listener the client came to, for the metrics */
  constructor(
    socket: Socket,
    protected readonly stats: ServerStats,
    readonly listener: ListenerName,
    protected reads: SocketReads,
  ) {
    this.attach(socket);
  }

  /** The socket the connection reads and writes now (a TLS socket once `startTls` is done). */
  get socket(): Socket {
    return this._socket;
  }

  private attach(socket: Socket): void {
    this._socket = socket;
    listenTo(socket, this);
    this.reads.start(socket);
    if (this.idleMs > 0) closeWhenIdle(socket, this.idleMs);
  }

  // What the server asks of it.

  /** Why it ended, for the metrics: the server's reason (idle, shutdown, error) or `client`. */
  get closeReason(): CloseReason {
    return this.reason ?? 'client';
  }

  /** Closes the connection (politely, as at shutdown) after `ms` without traffic (idle-timeout.ts). */
  closeWhenIdle(ms: number): void {
    this.idleMs = ms;
    closeWhenIdle(this.socket, ms);
  }

  /** Ends the connection at once (a reset, not a FIN), for `reason`: nothing more is read or written. */
  abort(reason: CloseReason): void {
    this.reason = reason; // whatever the socket reported on the way (a failed handshake's error)
    this.inbox.discard();
    this.socket.destroy();
  }

  /** Gives a chunk back: the task's next `recv` returns it (what a header parser read past). */
  unread(chunk: Buffer): void {
    this.inbox.unget(chunk);
  }

  /**
   * Lets go of the socket, paused, for another layer to take over (a TLS handshake, tls.ts):
   * what the task had received but not taken goes back into it first.
   */
  release(): Socket {
    const socket = this.socket;
    stopListening(socket);
    this.reads.stop(socket);
    stopIdleTimer(socket);
    socket.pause();
    const unread = this.inbox.discard();
    for (let i = unread.length - 1; i >= 0; i--) socket.unshift(unread[i]!);
    return socket;
  }

  /** Reads and writes `socket` from now on, read as `reads` says (after `release`). */
  rebind(socket: Socket, reads: SocketReads): void {
    this.reads = reads;
    this.attach(socket);
    if (socket.closed) this.closedForGood = true; // `close` then need not wait for it
  }

  /** Records the client's own address, from a PROXY header: it names the connection from now on. */
  setClient(address: string, port: number): void {
    this.client = { address, port };
  }

  /** `address:port` of the socket's peer: the client, or the proxy in front of it. */
  get peer(): string {
    return peerOf(this.socket);
  }

  /**
   * Stops reading for `reason` (idle, shutdown): what was already read is still handed to the
   * task, which echoes it and then sees the end.
   */
  stopReading(reason: CloseReason): void {
    this.reason ??= reason;
    if (this.inbox.isEnded) return;
    const socket = this.socket;
    socket.pause();
    this.reads.stop(socket);
    this.reads.flush(socket, this); // bytes Node has already taken from the kernel count as read
    this.inbox.end();
    // A task stuck in `send` has a client that does not read: it may never drain, and an idle
    // timer fires only once. Give it the close deadline, then the socket goes.
    if (this.drained?.hasWaiter) this.closeTimer ??= setTimeout(destroy, CLOSE_DEADLINE_MS, socket);
  }

  /** The client, as logs and the blocked-loop report name it (client-name.ts), worked out only when asked. */
  toString(): string {
    return clientName(this.socket, this.client);
  }

  // The socket's side (see SocketOwner), through the listeners of socket-events.ts and `reads`.

  /** To the waiting task at once (it runs now), or into the inbox. */
  received(chunk: Buffer): void {
    // After the server stopped reading, input only drains away so the client's FIN gets through.
    if (this.inbox.isEnded) return;
    this.stats.reads++;
    this.stats.bytesReceived += chunk.length;
    this.inbox.put(chunk);
  }

  /** The inbox has a chunk the task has not taken: stop reading until it has. */
  nowFull(): void {
    this.socket.pause();
  }

  /** The task took the waiting chunk: read again. */
  nowEmpty(): void {
    this.socket.resume();
  }

  /** The task sees `null` once it has what came before; or a reset libuv reported as the end (peer-reset.ts). */
  ended(): void {
    if (this.reason === undefined && endedByReset(this.socket)) return this.failed();
    this.inbox.end();
  }

  /** The end of this connection, nothing else. */
  failed(): void {
    this.reason ??= 'error';
    this.inbox.discard(); // nowhere to echo them to
    this.inbox.end();
    this.drained?.wakeIfWaiting();
  }

  /** A task waiting in `send` goes on. */
  drainedOrGone(): void {
    this.drained?.wakeIfWaiting();
  }

  /** Whoever waits on the socket goes on. */
  closed(): void {
    this.closedForGood = true;
    clearTimeout(this.closeTimer);
    this.inbox.end();
    this.drained?.wakeIfWaiting();
    this.whenClosed?.();
  }
}

/** A timer's callback: the socket goes, whatever it still holds. */
export function destroy(socket: Socket): void {
  socket.destroy();
}
