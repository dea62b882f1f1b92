import type { Socket } from 'node:net';
import { DONE, NOT_READY, ReusableOperation, type Operation, type Task } from '../tasks/index.js';
import type { CloseReason, ServerStats } from './stats.js';

/** How long a politely closed socket may wait for its client to finish reading before it is destroyed. */
export const CLOSE_DEADLINE_MS = 2000;

const OWNER = Symbol('connection');
type OwnedSocket = Socket & { [OWNER]: Connection };

/**
 * One client's socket, seen from its task as blocking calls, like a gevent socket:
 * `recv()` waits for the next chunk (null at the end), `send()` waits only while the socket's
 * write buffer is full. Events arrive through module-level listeners that find their
 * connection through a field, so nothing is allocated per socket event.
 *
 * Backpressure needs no extra machinery: while a task waits in `send`, it is not in `recv`;
 * a chunk that arrives meanwhile is parked in `pending` and the socket is paused, so the
 * kernel's buffers, and then TCP itself, hold the client back.
 */
export class Connection {
  /** The echo task serving this connection. */
  task: Task<void> | undefined;
  /** Chunks read while the task was busy elsewhere (rarely more than one); made when first needed. */
  private pending: Buffer[] | undefined;
  /** No more data will be read: the client sent FIN, the socket broke, or the server stopped reading. */
  private eof = false;
  /** Why the connection ends, unless it is the client's doing. */
  private reason: CloseReason | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly openedAt = performance.now();
  // Built once per connection: a switch point on the hot path allocates nothing.
  private readonly nextChunk = new NextChunk(this);
  private drained: Drained | undefined; // made at the first full write buffer: most never need one

  constructor(
    readonly socket: Socket,
    private readonly stats: ServerStats,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    (socket as OwnedSocket)[OWNER] = this;
    // The error listener first: from here on no socket error can reach the process.
    socket.on('error', onError);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    // 'drain' and 'timeout' listeners come only when needed: every listener an idle socket
    // carries costs memory, times tens of thousands of sockets.
  }

  /** Closes the connection (politely, as at shutdown) after `ms` without traffic either way. */
  closeWhenIdle(ms: number): void {
    this.socket.setTimeout(ms);
    this.socket.on('timeout', onTimeout);
  }

  /** `address:port` of the client, worked out only when someone asks (logs, diagnostics). */
  toString(): string {
    const { remoteAddress, remotePort } = this.socket;
    return remoteAddress?.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
  }

  /** Waits for the next chunk the client sent; `null` once there will be no more. */
  recv(): Operation<Buffer | null> {
    return this.nextChunk;
  }

  /**
   * Writes `data` at once; the returned operation waits (a switch point) only while the
   * socket's write buffer is full: `yield* connection.send(data)`.
   */
  send(data: Buffer): Operation<void> {
    if (this.socket.destroyed) return DONE; // broken: the bytes have nowhere to go
    this.stats.bytesSent += data.length;
    if (this.socket.write(data)) return DONE;
    this.stats.backpressurePauses++;
    this.socket.once('drain', onDrain);
    return (this.drained ??= new Drained(this));
  }

  /** The chunk to hand to the task now, `null` at the end, or NOT_READY to wait. */
  takeChunk(): Buffer | null | typeof NOT_READY {
    const chunk = this.pending?.shift();
    if (chunk !== undefined) {
      if (this.pending!.length === 0 && !this.eof) this.socket.resume();
      return chunk;
    }
    return this.eof ? null : NOT_READY;
  }

  /**
   * Ends the connection politely: everything written is flushed, then FIN. A client that
   * never reads cannot hold the socket forever: it is destroyed after a deadline.
   */
  close(): void {
    if (this.socket.destroyed || this.closeTimer) return;
    if (this.reason === 'idle' || this.reason === 'shutdown') {
      // The server stopped reading: let further input drain away unread so the client's FIN
      // gets through and the socket closes now, rather than at the deadline.
      this.socket.on('data', ignore);
      this.socket.resume();
    }
    this.socket.end();
    this.closeTimer = setTimeout(destroy, CLOSE_DEADLINE_MS, this.socket);
  }

  /**
   * Stops reading for `reason` (idle, shutdown): what was already read is still handed to the
   * task, which echoes it and then sees the end.
   */
  stopReading(reason: CloseReason): void {
    this.reason ??= reason;
    if (this.eof) return;
    this.eof = true;
    const socket = this.socket;
    socket.removeListener('data', onData);
    socket.pause();
    // Bytes Node has already taken from the kernel but not yet delivered count as read.
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) {
      this.stats.reads++;
      this.stats.bytesReceived += chunk.length;
      (this.pending ??= []).push(chunk);
    }
    if (this.nextChunk.hasWaiter) this.nextChunk.deliver(this.pending?.shift() ?? null);
    // A task stuck in `send` has a client that does not read: it may never drain, and an idle
    // timer fires only once. Give it the close deadline, then the socket goes.
    if (this.drained?.hasWaiter) this.closeTimer ??= setTimeout(destroy, CLOSE_DEADLINE_MS, socket);
  }

  // The socket's events, through the module-level listeners below.

  /** A chunk arrived: to the waiting task at once, or parked (and reading paused) until it asks. */
  received(chunk: Buffer): void {
    this.stats.reads++;
    this.stats.bytesReceived += chunk.length;
    // A waiting task runs now, synchronously, until its next switch point.
    if (this.nextChunk.deliver(chunk)) return;
    (this.pending ??= []).push(chunk);
    this.socket.pause();
  }

  /** The client sent FIN: the task sees `null` once it has what came before. */
  ended(): void {
    this.eof = true;
    this.nextChunk.deliver(null);
  }

  /** A socket error (ECONNRESET, EPIPE...): the end of this connection, nothing else. */
  failed(): void {
    this.reason ??= 'error';
    this.pending = undefined; // nowhere to echo them to
    this.ended();
    this.drainedOrGone();
  }

  /** The write buffer has room again, or the socket is gone: a task waiting in `send` goes on. */
  drainedOrGone(): void {
    this.drained?.deliver();
  }

  /** The socket is closed for good: counted once, with its reason and lifetime. */
  closed(): void {
    clearTimeout(this.closeTimer);
    this.ended();
    this.drainedOrGone();
    this.stats.connectionClosed(this.reason ?? 'client', (performance.now() - this.openedAt) / 1000);
    this.onClosed(this);
  }
}

/** The task's "next chunk" switch point. */
class NextChunk extends ReusableOperation<Buffer | null> {
  constructor(private readonly connection: Connection) {
    super();
  }

  protected poll(): Buffer | null | typeof NOT_READY {
    return this.connection.takeChunk();
  }

  /** Hands `chunk` to the waiting task; false if the task is not waiting here. */
  deliver(chunk: Buffer | null): boolean {
    return this.wake(chunk);
  }
}

/** The task's "write buffer has room again" switch point. */
class Drained extends ReusableOperation<void> {
  constructor(private readonly connection: Connection) {
    super();
  }

  protected poll(): void | typeof NOT_READY {
    const socket = this.connection.socket;
    return socket.destroyed || !socket.writableNeedDrain ? undefined : NOT_READY;
  }

  deliver(): boolean {
    return this.wake(undefined);
  }
}

function owner(socket: Socket): Connection {
  return (socket as OwnedSocket)[OWNER];
}

function onData(this: Socket, chunk: Buffer): void {
  owner(this).received(chunk);
}

function onEnd(this: Socket): void {
  owner(this).ended();
}

function onDrain(this: Socket): void {
  owner(this).drainedOrGone();
}

function onTimeout(this: Socket): void {
  owner(this).stopReading('idle');
}

/** ECONNRESET, EPIPE and friends end this one connection; Node destroys the socket after. */
function onError(this: Socket): void {
  owner(this).failed();
}

function onClose(this: Socket): void {
  owner(this).closed();
}

function ignore(): void {}

function destroy(socket: Socket): void {
  socket.destroy();
}
