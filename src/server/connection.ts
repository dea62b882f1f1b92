import type { Socket } from 'node:net';
import { suspend, type Operation, type Resume, type Suspension } from '../tasks/index.js';
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
  /** `address:port` of the client, for logs and the task's name. */
  readonly remote: string;
  private readonly pending: Buffer[] = [];
  private reader: Resume<Buffer | null> | undefined;
  private drainWaiter: Resume<void> | undefined;
  /** No more data will be read: the client sent FIN, the socket broke, or the server stopped reading. */
  private eof = false;
  /** Why the connection ends, unless it is the client's doing. */
  private reason: CloseReason | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly openedAt = performance.now();
  private readonly nextChunk: Suspension<Buffer | null>;
  private readonly drained: Suspension<void>;

  constructor(
    readonly socket: Socket,
    private readonly stats: ServerStats,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    (socket as OwnedSocket)[OWNER] = this;
    // The error listener first: from here on no socket error can reach the process.
    socket.on('error', onError);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('drain', onDrain);
    socket.on('timeout', onTimeout);
    socket.on('close', onClose);
    // Created once per connection: waiting costs no new closure per message.
    this.nextChunk = suspend<Buffer | null>((resume) => {
      this.reader = resume;
      return () => (this.reader = undefined);
    });
    this.drained = suspend<void>((resume) => {
      if (this.socket.destroyed || !this.socket.writableNeedDrain) return resume();
      this.drainWaiter = resume;
      return () => (this.drainWaiter = undefined);
    });
  }

  /** Waits for the next chunk the client sent; `null` once there will be no more. */
  *recv(): Operation<Buffer | null> {
    const chunk = this.pending.shift();
    if (chunk !== undefined) {
      if (this.pending.length === 0 && !this.eof) this.socket.resume();
      return chunk;
    }
    if (this.eof) return null;
    return yield* this.nextChunk;
  }

  /** Writes `data`; waits (a switch point) only while the socket's write buffer is full. */
  *send(data: Buffer): Operation<void> {
    if (this.socket.destroyed) return; // broken: the bytes have nowhere to go
    this.stats.bytesSent += data.length;
    if (this.socket.write(data)) return;
    this.stats.backpressurePauses++;
    yield* this.drained;
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
      this.pending.push(chunk);
    }
    const reader = this.reader;
    if (reader) reader(this.pending.shift() ?? null);
  }

  received(chunk: Buffer): void {
    this.stats.reads++;
    this.stats.bytesReceived += chunk.length;
    const reader = this.reader;
    if (reader) {
      reader(chunk); // runs the task now, synchronously, until its next switch point
      return;
    }
    this.pending.push(chunk);
    this.socket.pause();
  }

  ended(): void {
    this.eof = true;
    const reader = this.reader;
    if (reader) reader(null);
  }

  failed(): void {
    this.reason ??= 'error';
    this.pending.length = 0; // nowhere to echo them to
    this.ended();
    this.drainedOrGone();
  }

  drainedOrGone(): void {
    const waiter = this.drainWaiter;
    if (waiter) waiter();
  }

  closed(): void {
    clearTimeout(this.closeTimer);
    this.ended();
    this.drainedOrGone();
    this.stats.connectionClosed(this.reason ?? 'client', (performance.now() - this.openedAt) / 1000);
    this.onClosed(this);
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
