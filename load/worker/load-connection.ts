import net from 'node:net';
import tls from 'node:tls';
import { classifySocketError, describeHandshakeFailure, describeMismatch, isTlsError } from '../result/failure.js';
import { tlsOptions } from './connection-plan.js';
import { toMicros } from './histogram.js';
import { READ_BUFFER_SIZE } from './payload.js';
import { onSecureConnect, onSocketClose, onSocketConnect, onSocketData, onSocketEnd, onSocketError, owners } from './socket-owners.js';
import type { FailureKind } from '../result/failure-kind.js';
import type { LoadConnectionPlan, LoadTarget } from './connection-plan.js';

/** The first wait before reconnecting after a disruption; it doubles per failed attempt, up to the most. */
export const RECONNECT_BACKOFF_MS = 50;
export const RECONNECT_BACKOFF_MAX_MS = 1000;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
/** TCP is up (and the PROXY header sent), the TLS handshake is not done yet. */
const HANDSHAKING = 3;

/**
 * One load-client connection's ping-pong state machine: connect, send `pipeline` messages, and
 * for each read check the bytes against the expected echo at the current offset, complete
 * messages, record their latency and send the next ones (a client: the server's side is
 * src/server/connection.ts). Set-up is timed apart from echoes: `connect` (to the `connect`
 * event), under TLS `handshake` (to `secureConnect`), and `firstEcho` (from ready to the first
 * echo) have their own histograms, and messages sent before the first echo came back stay out
 * of `latency`: they waited for the server to accept and read the connection, which is set-up.
 *
 * Why an event-driven object and not a task from src/tasks: not the runtime's cost (the
 * minimal client as one task per connection, bench/contenders/task-client.ts, spends 1.03 x the
 * CPU per message of the same client as an event handler: `npm run bench:client -- --tasks`,
 * 500 connections, 64 B), but that a read is not a story told in order: it completes any
 * number of pipelined messages, `--rate` sends come from a timer while echoes are
 * outstanding, and every read is checked where it lands: a state machine over one read. Reads
 * go through `onread` into one reused buffer (no Buffer, no `data` event per read); the clock
 * is `performance.now()` (a double; `process.hrtime.bigint()` allocates a BigInt per call and
 * measured slower). TLS sockets take `onread` too (Node 20 to 26); only TLS after a PROXY
 * header is a TLS socket wrapped around a connected one, where Node ignores `onread`: those
 * read `data` events (a Buffer per read).
 *
 * `--proxy-protocol` sends the header first on the TCP connection (as HAProxy's `send-proxy`
 * does), then the TLS handshake if any, then the echo traffic.
 *
 * One object is one connection. A client of the run may have several in turn: under
 * `--connection-lifetime` a connection's life ends politely (no more sends, the echoes in
 * flight awaited, then FIN) and the fleet opens its `successor`; under `--reconnect` a
 * connection the server side breaks is `disrupted`, and its successor opens after a backoff.
 * A successor carries the client's state (its `quota` of `--messages`, whether the shape
 * wants it, the disruption it recovers from), nothing of the old socket, whose late events
 * find the old object closed. A `silent` connection (`--idle`) sends nothing: any byte it
 * receives is a mismatch, and it must stay open to the end.
 *
 * @example
 *   const connection = new LoadConnection(plan, target, 0, Infinity, 0);
 *   connection.open();
 */
export class LoadConnection {
  socket: net.Socket | undefined;
  private state = CONNECTING;
  /** Nothing left to do: the whole quota echoed, or failed for good. `plan.finished` was called. */
  private done = false;
  /** Stopped at the end of the run: nothing follows it. */
  private stopped = false;
  /** Held by the run's shape; a ramp down clears it (see `release`). */
  wanted = true;
  /** The life ends once the echoes in flight are back (its lifetime is over, or a ramp down). */
  private ending = false;
  /** Messages the client may still send after this connection's share (`toSend`), in successors. */
  private quota: number;
  /** The client's first connection: it, not its successors, settles the client (`plan.settled`). */
  private readonly first: boolean;
  /** Under `--reconnect`: performance.now() of the disruption being recovered from; 0 = none. */
  private disruptedAt = 0;
  /** The wait before the next reconnect attempt. */
  backoffMs = RECONNECT_BACKOFF_MS;
  private lifeTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the connect was started, and when TCP was up. */
  private openedAt = 0;
  private connectedAt = 0;
  /** No echo has come back yet: the oldest message in flight is the connection's first. */
  private awaitingFirstEcho = true;
  /** Messages in flight that were sent before the first echo came back: not steady state. */
  private early = 0;
  /** Send time of each message in flight (intended time under `--rate`), oldest at `head`. */
  private readonly stamps: Float64Array;
  private head = 0;
  private inFlight = 0;
  /** Bytes of the oldest in-flight message already received. */
  private offset = 0;
  /** Bytes received so far, to say where a mismatch is. */
  private received = 0;
  private nextDue = 0;
  /** Messages this connection may still send: the client's quota, or as much of it as the lifetime allows. */
  private toSend: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly onDue = (): void => {
    this.timer = undefined;
    this.pump(performance.now());
  };

  /**
   * @param index the connection's number in the whole run (for messages and the rate phase)
   * @param quota messages this client sends in all, over all its lives; Infinity until stopped
   * @param phaseMs under `--rate`, delay of the first send, so connections do not fire in step
   * @param silent an `--idle` connection: it sends nothing and must receive nothing
   * @param predecessor the client's previous connection, whose state the client keeps
   */
  constructor(
    private readonly plan: LoadConnectionPlan<LoadConnection>,
    private readonly target: LoadTarget,
    readonly index: number,
    quota: number,
    private readonly phaseMs: number,
    readonly silent = false,
    predecessor?: LoadConnection,
  ) {
    const share = silent ? 0 : Math.min(quota, plan.lifetimeMessages);
    this.toSend = share;
    // Infinity - Infinity is NaN: an endless quota with no lifetime count is all this connection's.
    this.quota = share === quota ? 0 : quota - share;
    this.stamps = new Float64Array(silent ? 0 : plan.pipeline);
    this.first = predecessor === undefined;
    if (predecessor === undefined) {
      if (!silent) target.tally.connections++;
    } else {
      this.wanted = predecessor.wanted;
      this.disruptedAt = predecessor.disruptedAt;
      this.backoffMs = predecessor.backoffMs;
    }
  }

  /** The client's next connection, after this one's life ended or was disrupted (see `reopenable`). */
  successor(): LoadConnection {
    return new LoadConnection(this.plan, this.target, this.index, this.quota, this.phaseMs, this.silent, this);
  }

  /**
   * Starts connecting. Every outcome is counted through the plan's tally. `scheduledAt`
   * (performance.now() time) is when the connect was due under a connect or arrival rate:
   * the connect time counts from then, so that a late start shows.
   */
  open(scheduledAt = performance.now()): void {
    const plan = this.plan;
    const { host, port } = this.target;
    this.openedAt = scheduledAt;
    const onread = { buffer: plan.readBuffer, callback: (n: number) => this.onRead(n, plan.readBuffer) };
    let socket: net.Socket;
    if (plan.tls !== undefined && plan.proxyHeader === undefined) {
      // TLSSocket takes `onread` (Node 20 to 26) though @types/node does not list it.
      const options = { host, port, ...tlsOptions(plan.tls, this.target), onread } as tls.ConnectionOptions;
      socket = tls.connect(options) as net.Socket;
      socket.on('secureConnect', onSecureConnect);
    } else {
      // Under TLS after a PROXY header, the TLS socket is made once TCP is up (`connected`).
      socket = net.connect({ host, port, noDelay: true, ...(plan.tls === undefined ? { onread } : {}) }) as net.Socket;
    }
    this.watch(socket);
    socket.on('connect', onSocketConnect);
    this.socket = socket;
    this.startTimer();
  }

  /** Every socket of the connection gets its listeners, `error` first. */
  private watch(socket: net.Socket): void {
    owners.set(socket, this);
    socket.on('error', onSocketError);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
  }

  /** `--connect-timeout` bounds the TCP connect and, from there, the TLS handshake. */
  private startTimer(): void {
    const timeoutMs = this.plan.connectTimeoutMs;
    if (timeoutMs > 0) this.timer = setTimeout(this.onSetupTimeout, timeoutMs);
  }

  private readonly onSetupTimeout = (): void => {
    this.timer = undefined;
    const timeoutMs = this.plan.connectTimeoutMs;
    if (this.state === HANDSHAKING) {
      this.fail('handshake', `handshake timeout: no TLS handshake within ${timeoutMs} ms of connecting, connection ${this.index}`);
    } else {
      this.fail('timeout', `connect timeout after ${timeoutMs} ms, connection ${this.index}`);
    }
  };

  /** Established and not failed: counts as held if the run stops now. */
  get healthy(): boolean {
    return this.state === OPEN;
  }

  /** Closed between two lives (a lifetime ended, or a disruption) with messages left: a successor may follow. */
  get reopenable(): boolean {
    return this.state === CLOSED && !this.done && !this.stopped;
  }

  /** Under a ramp down: this life ends politely once its echoes are back, and no other follows until wanted again. */
  release(): void {
    this.wanted = false;
    this.endLife();
  }

  /** The life is over (its lifetime, or a ramp down): no more sends; it closes once the echoes in flight are back. */
  endLife(): void {
    if (this.state === CLOSED || this.ending) return;
    this.ending = true;
    this.quota += this.toSend;
    this.toSend = 0;
    if (this.state === OPEN) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.checkFinished();
    } else {
      // Not up yet: there is nothing in flight to wait for.
      this.clearTimer();
      this.state = CLOSED;
      this.socket?.destroy();
      this.plan.retired(this);
    }
  }

  /** Fails the connection if its oldest message has waited longer than `timeoutMs`. */
  checkTimeout(now: number, timeoutMs: number): void {
    if (this.state === OPEN && this.inFlight > 0 && now - this.stamps[this.head]! > timeoutMs) {
      // The first echo is the one an unaccepted connection never gets: say so, apart from an
      // echo that stops coming once the connection has been served.
      const text = this.awaitingFirstEcho
        ? `no first echo within ${timeoutMs} ms of connecting, connection ${this.index} (was it ever accepted?)`
        : `no echo within ${timeoutMs} ms, connection ${this.index}`;
      this.fail('timeout', text);
    }
  }

  /**
   * Ends the connection at the end of the run; nothing after this is counted. An established
   * connection is ended politely (FIN, the server may still echo what it has), one still
   * connecting is dropped.
   */
  stop(): void {
    const wasOpen = this.state === OPEN;
    this.state = CLOSED;
    this.stopped = true;
    this.clearTimer();
    clearTimeout(this.lifeTimer);
    if (wasOpen) this.socket?.end();
    else this.socket?.destroy();
  }

  /** Resolves once the socket has closed (at once if it never opened). */
  whenClosed(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || socket.closed) return Promise.resolve();
    return new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Tears the socket down now (after `stop`, once the closing deadline has passed). */
  destroy(): void {
    this.socket?.destroy();
  }

  /** TCP is up: send the PROXY header, if any, then start the TLS handshake or the traffic. */
  connected(): void {
    const now = performance.now();
    this.clearTimer();
    if (this.state !== CONNECTING) return;
    const plan = this.plan;
    plan.tally.connect.recordValue(toMicros(now - this.openedAt));
    const raw = this.socket!;
    if (plan.proxyHeader !== undefined) raw.write(plan.proxyHeader(this.index, this.target));
    if (plan.tls === undefined) {
      this.established(now);
      return;
    }
    this.connectedAt = now;
    this.state = HANDSHAKING;
    if (plan.proxyHeader === undefined) {
      // tls.connect does not apply `noDelay` itself.
      raw.setNoDelay(true);
    } else {
      const secure = tls.connect({ socket: raw, ...tlsOptions(plan.tls, this.target) }) as net.Socket;
      this.watch(secure);
      secure.on('secureConnect', onSecureConnect);
      secure.on('data', onSocketData);
      this.socket = secure;
    }
    this.startTimer();
  }

  /** The TLS handshake is done. */
  secured(): void {
    const now = performance.now();
    this.clearTimer();
    if (this.state !== HANDSHAKING) return;
    this.plan.tally.handshake.recordValue(toMicros(now - this.connectedAt));
    this.established(now);
  }

  /** Ready for traffic: counted as connected, and the first messages go out. */
  private established(now: number): void {
    this.state = OPEN;
    const plan = this.plan;
    const tally = plan.tally;
    if (this.silent) {
      tally.idleOpen++;
      if (this.first) plan.settled(this);
      return;
    }
    tally.connected++;
    this.target.tally.connected++;
    tally.open++;
    if (this.disruptedAt > 0) {
      tally.reconnects++;
      tally.reconnect.recordValue(toMicros(now - this.disruptedAt));
      this.disruptedAt = 0;
      this.backoffMs = RECONNECT_BACKOFF_MS;
    }
    tally.publish();
    if (this.first) plan.settled(this);
    if (plan.lifetimeMs > 0) this.lifeTimer = setTimeout(endLifeOf, plan.lifetimeMs, this);
    if (plan.intervalMs > 0) {
      this.nextDue = now + this.phaseMs;
      this.pump(now);
    } else {
      this.send(Math.min(this.plan.pipeline, this.toSend), now);
    }
    this.checkFinished();
  }

  /**
   * A read of `n` bytes at the start of `buffer` (the worker's shared buffer, or a `data`
   * chunk of at most READ_BUFFER_SIZE bytes): verify, complete messages, send more.
   */
  onRead(n: number, buffer: Buffer): boolean {
    if (this.state !== OPEN) return true;
    const plan = this.plan;
    const size = plan.payloads.message.length;
    const offset = this.offset;
    // More bytes than are in flight can never be a correct echo, whatever they are.
    if (n > this.inFlight * size - offset || plan.payloads.expected.compare(buffer, 0, n, offset, offset + n) !== 0) {
      this.mismatch(buffer, n);
      return false;
    }
    this.received += n;
    const tally = plan.tally;
    tally.bytes += n;
    const target = this.target.tally;
    let total = offset + n;
    if (total >= size) {
      // One clock read per read, not per message: echoes completed by the same read arrived together.
      const now = performance.now();
      const stamps = this.stamps;
      const latency = target.latency;
      let head = this.head;
      let completed = 0;
      do {
        if (this.early === 0) {
          latency.recordValue(toMicros(now - stamps[head]!));
        } else {
          // Set-up, not steady state: the first of them is the first echo, the rest are in
          // no histogram (they waited for the same accept).
          this.early--;
          if (this.awaitingFirstEcho) {
            this.awaitingFirstEcho = false;
            tally.firstEcho.recordValue(toMicros(now - stamps[head]!));
          }
        }
        head = head + 1 === stamps.length ? 0 : head + 1;
        total -= size;
        completed++;
      } while (total >= size);
      this.head = head;
      this.inFlight -= completed;
      tally.messages += completed;
      target.messages += completed;
      tally.lastEcho = now;
      if (plan.intervalMs > 0) this.pump(now);
      else this.send(Math.min(completed, this.toSend), now);
      this.checkFinished();
    }
    this.offset = total;
    tally.publish();
    return true;
  }

  /**
   * Writes `count` messages in one write. Message i is stamped `at + i * step`: its send time,
   * or under `--rate` its intended send time.
   */
  private send(count: number, at: number, step = 0): void {
    if (count <= 0) return;
    const stamps = this.stamps;
    let slot = this.head + this.inFlight;
    for (let i = 0; i < count; i++, slot++) stamps[slot >= stamps.length ? slot - stamps.length : slot] = at + i * step;
    this.inFlight += count;
    if (this.awaitingFirstEcho) this.early += count;
    this.toSend -= count;
    const tally = this.plan.tally;
    tally.sent += count;
    if (tally.firstSend === 0) tally.firstSend = at;
    const payloads = this.plan.payloads;
    // In flight is bounded by `pipeline` messages, so ignoring write()'s backpressure signal
    // cannot grow the socket's buffer beyond that.
    this.socket!.write(count === 1 ? payloads.message : payloads.burst.subarray(0, count * payloads.message.length));
  }

  /**
   * `--rate`: sends every message whose intended time has come (as far as the pipeline
   * allows), stamped with that intended time so a late send shows as latency (wrk2's
   * correction for coordinated omission), then sleeps until the next one is due.
   */
  private pump(now: number): void {
    const interval = this.plan.intervalMs;
    const room = Math.min(this.plan.pipeline - this.inFlight, this.toSend);
    let due = 0;
    while (due < room && this.nextDue + due * interval <= now) due++;
    if (due > 0) {
      this.send(due, this.nextDue, interval);
      this.nextDue += due * interval;
    }
    if (this.timer === undefined && this.toSend > 0 && this.inFlight < this.plan.pipeline) {
      this.timer = setTimeout(this.onDue, Math.max(0, this.nextDue - now));
    }
  }

  /**
   * Once this life has sent its share and every echo is back: a life with an end (a lifetime,
   * a ramp down) closes politely; otherwise the client is done and stays open, held.
   */
  private checkFinished(): void {
    if (this.toSend !== 0 || this.inFlight !== 0 || this.done || this.state !== OPEN) return;
    if (this.ending || this.plan.lifetimeMessages !== Infinity || this.plan.lifetimeMs > 0) {
      this.retire();
    } else {
      this.done = true;
      this.plan.finished(this);
    }
  }

  /** Ends this life politely: FIN after the last echo; the fleet decides whether another follows. */
  private retire(): void {
    this.state = CLOSED;
    this.clearTimer();
    clearTimeout(this.lifeTimer);
    const tally = this.plan.tally;
    tally.open--;
    tally.closed++;
    tally.publish();
    this.socket?.end();
    // Nothing left for a successor: the client is done (so `reopenable` is false).
    if (this.quota === 0) this.done = true;
    this.plan.retired(this);
    if (this.done) this.plan.finished(this);
  }

  /** A `data` chunk (TLS after a PROXY header): checked as reads of at most READ_BUFFER_SIZE bytes. */
  onData(chunk: Buffer): void {
    for (let at = 0; at < chunk.length && this.state === OPEN; at += READ_BUFFER_SIZE) {
      const piece = at === 0 && chunk.length <= READ_BUFFER_SIZE ? chunk : chunk.subarray(at, at + READ_BUFFER_SIZE);
      this.onRead(piece.length, piece);
    }
  }

  private mismatch(buffer: Buffer, n: number): void {
    const size = this.plan.payloads.message.length;
    const outstanding = this.inFlight * size - this.offset;
    const read = buffer.subarray(0, n);
    const expected = this.plan.payloads.expected.subarray(this.offset);
    this.fail('mismatch', describeMismatch(read, expected, outstanding, this.received, this.index));
  }

  /**
   * Counts this connection's one failure and closes it; later events are ignored. Under
   * `--reconnect`, a break by the server side of an established connection, and a failed
   * attempt to reconnect, are not failures: see `disrupt`.
   */
  fail(kind: FailureKind, note: string): void {
    if (this.state === CLOSED) return;
    const wasOpen = this.state === OPEN;
    if (this.plan.reconnect && kind !== 'mismatch' && (wasOpen ? kind === 'reset' : this.disruptedAt > 0)) {
      this.disrupt(wasOpen);
      return;
    }
    this.state = CLOSED;
    this.clearTimer();
    clearTimeout(this.lifeTimer);
    const tally = this.plan.tally;
    if (wasOpen) {
      if (this.silent) tally.idleOpen--;
      else tally.open--;
    }
    tally.fail(kind, note);
    this.target.tally.errors++;
    tally.publish();
    this.socket?.destroy();
    if (!wasOpen && this.first) this.plan.settled(this);
    if (!this.done) {
      this.done = true;
      this.plan.finished(this);
    }
  }

  /**
   * The server ended or closed the connection. Once the connection has sent and checked its
   * whole share, nothing is lost: the server may close it (an idle timeout) while the rest of
   * the run goes on, and it still counts as held. Before that, it is a reset.
   */
  closedByServer(note: string): void {
    if (this.done && this.state === OPEN) return;
    if (this.state === HANDSHAKING) this.fail('handshake', `closed during the TLS handshake, connection ${this.index}`);
    else this.fail('reset', note);
  }

  /**
   * A socket error, by what the connection was doing: connecting, handshaking, or serving.
   * A TLS error before the first echo is a handshake failure even once the client saw the
   * handshake done: under TLS 1.3 the server checks the client's certificate after that, and
   * its refusal arrives as an alert on the first read.
   */
  failWith(error: NodeJS.ErrnoException): void {
    if (this.state === HANDSHAKING || (this.state === OPEN && this.awaitingFirstEcho && this.plan.tls !== undefined && isTlsError(error))) {
      this.fail('handshake', describeHandshakeFailure(error, this.index));
      return;
    }
    const { kind, text } = classifySocketError(error, this.state === CONNECTING, this.index);
    this.fail(kind, text);
  }

  /**
   * `--reconnect`: the server side broke the connection (or refused the attempt to reconnect).
   * What was sent and not echoed is counted, the messages in flight go back to the quota (so
   * that `--messages` stays exact), and the fleet opens the connection again after a backoff.
   */
  private disrupt(wasOpen: boolean): void {
    this.state = CLOSED;
    this.clearTimer();
    clearTimeout(this.lifeTimer);
    const tally = this.plan.tally;
    if (wasOpen) {
      if (this.silent) {
        tally.idleOpen--;
      } else {
        tally.open--;
        tally.unechoedBytes += this.inFlight * this.plan.payloads.message.length - this.offset;
      }
      tally.disrupted++;
      this.disruptedAt = performance.now();
    }
    this.quota += this.toSend + this.inFlight;
    this.toSend = this.inFlight = 0;
    tally.publish();
    this.socket?.destroy();
    this.plan.disrupted(this);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/** A life's timer (`--connection-lifetime <duration>`): a module-level function, no closure per connection. */
function endLifeOf(connection: LoadConnection): void {
  connection.endLife();
}
