import net from 'node:net';
import tls from 'node:tls';
import { classifySocketError, describeHandshakeFailure, isTlsError } from '../result/failure.js';
import { sourceOf, tlsOptions } from './connection-plan.js';
import { CLOSED, CONNECTING, EchoTraffic, HANDSHAKING, OPEN } from './echo-traffic.js';
import { toMicros } from './histogram.js';
import { onSecureConnect, onSocketConnect, onSocketData, watch } from './socket-owners.js';
import type { FailureKind } from '../result/failure-kind.js';
import type { LoadConnectionPlan, LoadTarget } from './connection-plan.js';

/** The first wait before reconnecting after a disruption; it doubles per failed attempt, up to the most. */
export const RECONNECT_BACKOFF_MS = 50;
export const RECONNECT_BACKOFF_MAX_MS = 1000;

/**
 * One load-client connection: its set-up, its failures and its end; its echo traffic is
 * `EchoTraffic` (echo-traffic.ts). Set-up is timed apart from echoes: `connect` (to the
 * `connect` event), under TLS `handshake` (to `secureConnect`), and `firstEcho` (from ready to
 * the first echo) have their own histograms. TLS sockets take `onread` too (Node 20 to 26);
 * only TLS after a PROXY header is a TLS socket wrapped around a connected one, where Node
 * ignores `onread`: those read `data` events (a Buffer per read).
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
export class LoadConnection extends EchoTraffic {
  declare protected readonly plan: LoadConnectionPlan<LoadConnection>;
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

  /**
   * @param index the connection's number in the whole run (for messages and the rate phase)
   * @param quota messages this client sends in all, over all its lives; Infinity until stopped
   * @param phaseMs under `--rate`, delay of the first send, so connections do not fire in step
   * @param silent an `--idle` connection: it sends nothing and must receive nothing
   * @param predecessor the client's previous connection, whose state the client keeps
   */
  constructor(
    plan: LoadConnectionPlan<LoadConnection>,
    target: LoadTarget,
    index: number,
    quota: number,
    phaseMs: number,
    readonly silent = false,
    predecessor?: LoadConnection,
  ) {
    super(plan, target, index, phaseMs, silent ? 0 : Math.min(quota, plan.lifetimeMessages), silent);
    // Infinity - Infinity is NaN: an endless quota with no lifetime count is all this connection's.
    this.quota = silent || this.toSend === quota ? 0 : quota - this.toSend;
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
    const localAddress = sourceOf(plan, this.index);
    this.openedAt = scheduledAt;
    const onread = { buffer: plan.readBuffer, callback: (n: number) => this.onRead(n, plan.readBuffer) };
    let socket: net.Socket;
    if (plan.tls !== undefined && plan.proxyHeader === undefined) {
      // TLSSocket takes `onread` (Node 20 to 26) though @types/node does not list it.
      const options = { host, port, localAddress, ...tlsOptions(plan.tls, this.target), onread } as tls.ConnectionOptions;
      socket = tls.connect(options) as net.Socket;
      socket.on('secureConnect', onSecureConnect);
    } else {
      // Under TLS after a PROXY header, the TLS socket is made once TCP is up (`connected`).
      socket = net.connect({ host, port, localAddress, noDelay: true, ...(plan.tls === undefined ? { onread } : {}) }) as net.Socket;
    }
    watch(socket, this);
    socket.on('connect', onSocketConnect);
    this.socket = socket;
    this.startTimer();
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
      this.clearTimer();
      this.checkFinished();
    } else {
      // Not up yet: there is nothing in flight to wait for.
      this.leave();
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
      watch(secure, this);
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
    this.startTraffic(now);
  }

  /**
   * Once this life has sent its share and every echo is back: a life with an end (a lifetime,
   * a ramp down) closes politely; otherwise the client is done and stays open, held.
   */
  protected checkFinished(): void {
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
    this.leave();
    const tally = this.plan.tally;
    tally.closed++;
    tally.publish();
    this.socket?.end();
    // Nothing left for a successor: the client is done (so `reopenable` is false).
    if (this.quota === 0) this.done = true;
    this.plan.retired(this);
    if (this.done) this.plan.finished(this);
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
    this.leave();
    const tally = this.plan.tally;
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
    this.leave();
    const tally = this.plan.tally;
    if (wasOpen) {
      if (!this.silent) tally.unechoedBytes += this.inFlight * this.plan.payloads.message.length - this.offset;
      tally.disrupted++;
      this.disruptedAt = performance.now();
    }
    this.quota += this.toSend + this.inFlight;
    this.toSend = this.inFlight = 0;
    tally.publish();
    this.socket?.destroy();
    this.plan.disrupted(this);
  }

  /** Closed from here on (later events are ignored), its timers off, and no longer counted as open. */
  private leave(): void {
    const tally = this.plan.tally;
    if (this.state === OPEN) {
      if (this.silent) tally.idleOpen--;
      else tally.open--;
    }
    this.state = CLOSED;
    this.clearTimer();
    clearTimeout(this.lifeTimer);
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
