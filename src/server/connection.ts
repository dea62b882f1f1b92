import type { Socket } from 'node:net';
import { DONE, Mailbox, NOT_READY, ReusableOperation, suspend, type MailboxHooks, type Operation } from '../tasks/index.js';
import { formatAddress } from '../address.js';
import { haveOwnSockets, msSinceDataSent, type OwnReads } from './own-sockets.js';
import type { CloseReason, ServerStats } from './stats.js';

/** How long a politely closed socket may wait for its client to finish reading before it is destroyed. */
export const CLOSE_DEADLINE_MS = 2000;

/**
 * Where the socket listeners find their connection. Not a property on the socket: a socket's
 * hidden class changes four times while Node constructs it, and one more property of ours made
 * the property loads inside Node's own per-message path (the `_handle` getter) megamorphic
 * (callgrind: about 740 more instructions per 64 B message, 5% of all). A WeakMap lookup
 * changes no hidden class.
 */
const owners = new WeakMap<Socket, Connection>();

/**
 * How the server's own sockets read (see own-sockets.ts): every read of every connection
 * lands in this one buffer and is handed to its task at once, which upper-cases it into a
 * buffer of its own; a chunk the task cannot take at once is copied out first. The buffer is
 * therefore free again as soon as a read's callback returns.
 */
export const OWN_READS: OwnReads = { buffer: Buffer.allocUnsafe(64 * 1024), callback: onOwnRead };

/**
 * One client's socket, seen from its task as blocking calls, like a gevent socket: `recv()`
 * waits for the next chunk (null at the end), `send()` waits only while the socket's write
 * buffer is full, `close()` waits until the socket is really closed.
 *
 * The socket's side arrives through module-level listeners that find their connection in a
 * WeakMap, so nothing is allocated per event. Chunks go into a mailbox that the task reads;
 * when the task is busy elsewhere (in `send`, because its client does not read) and a chunk
 * is waiting, the mailbox is full and the socket is paused, so the kernel's buffers, and then
 * TCP itself, hold the client back.
 */
export class Connection implements MailboxHooks {
  /** The chunks read and not yet taken by the task; reused for every chunk. */
  private readonly inbox = new Mailbox<Buffer>(this);
  private drained: Drained | undefined; // made at the first full write buffer: most never need one
  /** Why the connection ends, unless it is the client's doing. */
  private reason: CloseReason | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private ending = false;
  private closedForGood = false;
  private whenClosed: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    private readonly stats: ServerStats,
  ) {
    owners.set(socket, this);
    // The error listener first: from here on no socket error can reach the process.
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    if (!haveOwnSockets) {
      // A socket libuv accepted, paused until now: it reads through Node's stream.
      socket.on('data', onData);
      socket.resume();
    }
    // 'drain' and 'timeout' listeners come only when needed: every listener an idle socket
    // carries costs memory, times tens of thousands of sockets.
  }

  // What the task does: recv, send, close.

  /**
   * Waits for the next chunk the client sent; `null` once there will be no more. The chunk may
   * be a view of the server's read buffer: use it before the next switch point (copy it to
   * keep it), as `upper` does.
   */
  recv(): Operation<Buffer | null> {
    return this.inbox;
  }

  /**
   * Writes `data` at once; the returned operation waits (a switch point) only while the
   * socket's write buffer is full: `yield* connection.send(data)`.
   */
  send(data: Buffer): Operation<void> {
    const socket = this.socket;
    if (socket.destroyed) return DONE; // broken: the bytes have nowhere to go
    this.stats.bytesSent += data.length;
    if (socket.write(data)) return DONE;
    this.stats.backpressurePauses++;
    socket.once('drain', onDrain);
    return (this.drained ??= new Drained(socket));
  }

  /**
   * Ends the connection politely (everything written is flushed, then FIN) and waits until
   * the socket has closed. A client that never reads cannot hold it forever: after
   * `CLOSE_DEADLINE_MS` the socket is destroyed. A task killed while it waits here destroys
   * the socket at once.
   */
  close(): Operation<void> {
    const socket = this.socket;
    if (!socket.destroyed && !this.ending) {
      this.ending = true;
      if (this.reason === 'idle' || this.reason === 'shutdown') {
        // The server stopped reading: let further input drain away unread (and uncounted), so
        // that the client's FIN gets through and the socket closes now rather than at the
        // deadline. (A stream socket needs a listener to flow; an own socket's reads go to
        // `received`, which drops them.)
        if (!haveOwnSockets) socket.on('data', ignore);
        socket.resume();
      }
      socket.end();
      this.closeTimer ??= setTimeout(destroy, CLOSE_DEADLINE_MS, socket);
    }
    return suspend<void>((resume) => {
      if (this.closedForGood) return resume();
      this.whenClosed = resume;
      return () => {
        this.whenClosed = undefined;
        if (!this.closedForGood) socket.destroy();
      };
    });
  }

  // What the server asks of it.

  /** Why it ended, for the metrics: the server's reason (idle, shutdown, error) or `client`. */
  get closeReason(): CloseReason {
    return this.reason ?? 'client';
  }

  /**
   * Closes the connection (politely, as at shutdown) after `ms` without traffic either way,
   * bytes the kernel still delivers to a slow reader included (see `timedOut`).
   */
  closeWhenIdle(ms: number): void {
    this.socket.setTimeout(ms);
    this.socket.on('timeout', onTimeout);
  }

  /**
   * Node saw no traffic for the idle timeout. But Node sees bytes leave only when the kernel
   * takes them, and a client that reads slowly may take longer than the timeout to receive
   * what the kernel holds for it: if the kernel sent it data within the timeout, that was
   * traffic, and the connection gets another timeout. So a connection is closed one to two
   * timeouts after its last byte went out (without the native helper, one timeout after Node
   * handed it over).
   */
  timedOut(): void {
    const socket = this.socket;
    const timeoutMs = socket.timeout;
    const sinceSentMs = msSinceDataSent(socket);
    if (timeoutMs !== undefined && sinceSentMs !== undefined && sinceSentMs < timeoutMs) {
      socket.setTimeout(timeoutMs);
      return;
    }
    this.stopReading('idle');
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
    if (!haveOwnSockets) {
      socket.removeListener('data', onData);
      // Bytes Node has already taken from the kernel but not yet delivered count as read.
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) this.received(chunk);
    }
    this.inbox.end();
    // A task stuck in `send` has a client that does not read: it may never drain, and an idle
    // timer fires only once. Give it the close deadline, then the socket goes.
    if (this.drained?.hasWaiter) this.closeTimer ??= setTimeout(destroy, CLOSE_DEADLINE_MS, socket);
  }

  /** `address:port` of the client, worked out only when someone asks (logs, diagnostics). */
  toString(): string {
    return formatAddress(this.socket.remoteAddress ?? '?', this.socket.remotePort ?? 0);
  }

  // The socket's side, through the module-level listeners below.

  /**
   * A chunk arrived: to the waiting task at once (it runs now, and is done with the chunk when
   * `put` returns), or into the inbox, copied out of the shared read buffer.
   */
  received(chunk: Buffer): void {
    // After the server stopped reading, input only drains away so the client's FIN gets through.
    if (this.inbox.isEnded) return;
    this.stats.reads++;
    this.stats.bytesReceived += chunk.length;
    this.inbox.put(this.inbox.hasWaiter || !haveOwnSockets ? chunk : Buffer.from(chunk));
  }

  /** The inbox has a chunk the task has not taken: stop reading until it has. */
  nowFull(): void {
    this.socket.pause();
  }

  /** The task took the waiting chunk: read again. */
  nowEmpty(): void {
    this.socket.resume();
  }

  /** The client sent FIN: the task sees `null` once it has what came before. */
  ended(): void {
    this.inbox.end();
  }

  /** A socket error (ECONNRESET, EPIPE...): the end of this connection, nothing else. */
  failed(): void {
    this.reason ??= 'error';
    this.inbox.discard(); // nowhere to echo them to
    this.inbox.end();
    this.drained?.wakeIfWaiting();
  }

  /** The write buffer has room again: a task waiting in `send` goes on. */
  drainedOrGone(): void {
    this.drained?.wakeIfWaiting();
  }

  /** The socket is closed for good: whoever waits on it goes on. */
  closed(): void {
    this.closedForGood = true;
    clearTimeout(this.closeTimer);
    this.inbox.end();
    this.drained?.wakeIfWaiting();
    this.whenClosed?.();
  }
}

/** The task's "write buffer has room again" switch point, made once per connection that needs it. */
class Drained extends ReusableOperation<void> {
  constructor(private readonly socket: Socket) {
    super();
  }

  protected poll(): void | typeof NOT_READY {
    return this.socket.destroyed || !this.socket.writableNeedDrain ? undefined : NOT_READY;
  }

  wakeIfWaiting(): void {
    this.wake(undefined);
  }
}

function onOwnRead(this: Socket, bytes: number, buffer: Uint8Array): boolean {
  const connection = owners.get(this);
  // Every socket gets its connection before its first read; one that did not cannot be served.
  if (connection === undefined) {
    this.destroy();
    return false;
  }
  connection.received((buffer as Buffer).subarray(0, bytes));
  return true;
}

function onData(this: Socket, chunk: Buffer): void {
  owners.get(this)!.received(chunk);
}

function onEnd(this: Socket): void {
  owners.get(this)!.ended();
}

function onDrain(this: Socket): void {
  owners.get(this)!.drainedOrGone();
}

function onTimeout(this: Socket): void {
  owners.get(this)!.timedOut();
}

/** ECONNRESET, EPIPE and friends end this one connection; Node destroys the socket after. */
function onError(this: Socket): void {
  owners.get(this)!.failed();
}

function onClose(this: Socket): void {
  owners.get(this)!.closed();
}

function ignore(): void {}

function destroy(socket: Socket): void {
  socket.destroy();
}
