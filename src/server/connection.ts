import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DONE, Mailbox, NOT_READY, ReusableOperation, suspend, type MailboxHooks, type Operation } from '../tasks/index.js';
import { formatAddress } from '../address.js';
import { countRead, msSinceDataSent, type OwnReads } from './own-sockets.js';
import { endedByReset } from './peer-reset.js';
import type { CloseReason, ListenerName, ServerStats } from './stats.js';
import type { TlsEndpoint } from './tls.js';

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
 * lands in this one buffer, and what was read is copied out into a chunk of its task's own
 * (from Node's buffer pool). The buffer is therefore free again as soon as a read's callback
 * returns, and a read costs one copy of its bytes where Node's stream allocates 64 KiB.
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
 *
 * A socket reads one of two ways: the server's own sockets into the shared buffer
 * (`OWN_READS`), the others (a TLS socket, or any socket without the native helper) through
 * Node's stream, whose chunks are the connection's to keep.
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
  private idleMs = 0;
  /** The client's own address when a PROXY header said it (the socket's peer is the proxy). */
  private client: { address: string; port: number } | undefined;
  private _socket!: Socket;
  private ownReads: boolean;

  /**
   * @param listener the listener the client came to, for the metrics
   * @param ownReads whether `socket` reads into `OWN_READS`; otherwise it reads through its
   *   stream, paused until now
   */
  constructor(
    socket: Socket,
    private readonly stats: ServerStats,
    readonly listener: ListenerName,
    ownReads: boolean,
  ) {
    this.ownReads = ownReads;
    this.attach(socket);
    // 'drain' and 'timeout' listeners come only when needed: every listener an idle socket
    // carries costs memory, times tens of thousands of sockets.
  }

  /** The socket the connection reads and writes now (a TLS socket once `startTls` is done). */
  get socket(): Socket {
    return this._socket;
  }

  private attach(socket: Socket): void {
    this._socket = socket;
    owners.set(socket, this);
    // The error listener first: from here on no socket error can reach the process.
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    if (!this.ownReads) {
      socket.on('data', onData);
      socket.resume();
    }
    if (this.idleMs > 0) {
      socket.setTimeout(this.idleMs);
      socket.on('timeout', onTimeout);
    }
  }

  private detach(socket: Socket): void {
    socket.removeListener('error', onError);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onClose);
    socket.removeListener('data', onData);
    socket.removeListener('timeout', onTimeout);
    socket.removeListener('drain', onDrain);
    socket.setTimeout(0);
    owners.delete(socket);
  }

  // What the task does: recv, send, close.

  /**
   * Waits for the next chunk the client sent; `null` once there will be no more. The chunk is
   * the task's own, to keep or to change in place (`upperInPlace`).
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
    return (this.drained ??= new Drained(this));
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
        if (!this.ownReads) socket.on('data', ignore);
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
    this.idleMs = ms;
    this.socket.setTimeout(ms);
    this.socket.on('timeout', onTimeout);
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

  /** Records the client's own address, from a PROXY header: it names the connection from now on. */
  setClient(address: string, port: number): void {
    this.client = { address, port };
  }

  /** `address:port` of the socket's peer: the client, or the proxy in front of it. */
  get peer(): string {
    return formatAddress(this.socket.remoteAddress ?? '?', this.socket.remotePort ?? 0);
  }

  /**
   * Runs a TLS handshake on this connection's socket (a switch point) and from then on reads
   * and writes through TLS. What the task had received but not taken (the bytes after a PROXY
   * header) is the start of the handshake: it goes back into the socket first. Throws a
   * TlsHandshakeError if the handshake fails; the connection is then closed.
   */
  *startTls(endpoint: TlsEndpoint): Operation<void> {
    const raw = this.socket;
    this.detach(raw);
    raw.pause();
    const unread = this.inbox.discard();
    for (let i = unread.length - 1; i >= 0; i--) raw.unshift(unread[i]!);
    this.ownReads = false;
    // Until the handshake ends, the TLS engine listens to the socket (it reports errors as
    // handshake failures); from the secure socket on, this connection does.
    let secure: TLSSocket;
    try {
      secure = yield* endpoint.handshake(raw);
    } catch (error) {
      // Back to the raw socket, so that `close` sees it close (it may have already).
      this.attach(raw);
      if (raw.closed) this.closedForGood = true;
      throw error;
    }
    this.attach(secure);
  }

  /** The client certificate's subject, if the client presented one over TLS that the CA signed. */
  private subject(): string | undefined {
    const socket = this.socket as Partial<TLSSocket>;
    // With --tls-client-auth request an untrusted certificate is let through: its name is not the client's.
    if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
    const subject = socket.getPeerCertificate().subject as Record<string, string> | undefined;
    if (subject === undefined || Object.keys(subject).length === 0) return undefined;
    return Object.entries(subject).map(([key, value]) => `${key}=${value}`).join(',');
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
    if (!this.ownReads) {
      socket.removeListener('data', onData);
      // Bytes Node has already taken from the kernel but not yet delivered count as read.
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) this.received(chunk);
    }
    this.inbox.end();
    // A task stuck in `send` has a client that does not read: it may never drain, and an idle
    // timer fires only once. Give it the close deadline, then the socket goes.
    if (this.drained?.hasWaiter) this.closeTimer ??= setTimeout(destroy, CLOSE_DEADLINE_MS, socket);
  }

  /**
   * The client as logs and the blocked-loop report name it, worked out only when asked: its
   * address (from the PROXY header if there was one, else the socket's peer), and over mutual
   * TLS its certificate's subject: `203.0.113.7:5000 (CN=alice)`.
   */
  toString(): string {
    const address = this.client === undefined ? this.peer : formatAddress(this.client.address, this.client.port);
    const subject = this.subject();
    return subject === undefined ? address : `${address} (${subject})`;
  }

  // The socket's side, through the module-level listeners below.

  /**
   * A chunk arrived: to the waiting task at once (it runs now), or into the inbox. A stream's
   * chunk is the connection's to give away; a read into the shared buffer is copied out.
   */
  received(chunk: Buffer): void {
    // After the server stopped reading, input only drains away so the client's FIN gets through.
    if (this.inbox.isEnded) return;
    this.stats.reads++;
    this.stats.bytesReceived += chunk.length;
    this.inbox.put(this.ownReads ? copyOf(chunk) : chunk);
  }

  /** The inbox has a chunk the task has not taken: stop reading until it has. */
  nowFull(): void {
    this.socket.pause();
  }

  /** The task took the waiting chunk: read again. */
  nowEmpty(): void {
    this.socket.resume();
  }

  /**
   * The client sent FIN: the task sees `null` once it has what came before. Or it reset the
   * connection and libuv reported that as the end (see `endedByReset`): a reset, like any other.
   */
  ended(): void {
    if (this.reason === undefined && endedByReset(this.socket)) return this.failed();
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
  constructor(private readonly connection: Connection) {
    super();
  }

  protected poll(): void | typeof NOT_READY {
    const socket = this.connection.socket;
    return socket.destroyed || !socket.writableNeedDrain ? undefined : NOT_READY;
  }

  wakeIfWaiting(): void {
    this.wake(undefined);
  }
}

function onOwnRead(this: Socket, bytes: number, buffer: Uint8Array): boolean {
  countRead();
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

/**
 * A copy from Node's buffer pool, for every read of an own socket. `Buffer.from(chunk)` makes
 * the same copy through more checks: about 100 ns more per 64 B chunk (a loop of 5 million
 * copies on this machine).
 */
function copyOf(chunk: Buffer): Buffer {
  const copy = Buffer.allocUnsafe(chunk.length);
  copy.set(chunk);
  return copy;
}

function ignore(): void {}

function destroy(socket: Socket): void {
  socket.destroy();
}

