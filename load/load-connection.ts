import net from 'node:net';
import { classifySocketError, describeMismatch } from './failure.js';
import type { Payloads } from './payload.js';
import type { FailureKind } from './failure-kind.js';
import type { Tally } from './tally.js';

/**
 * What every connection of a worker shares: where to connect, what to send, where to count.
 * Built once per worker (the `Fleet`); connections only read it.
 */
export interface LoadConnectionPlan {
  readonly host: string;
  readonly port: number;
  readonly payloads: Payloads;
  readonly pipeline: number;
  /** Milliseconds between intended sends in `--rate` mode; 0 = send as echoes return. */
  readonly intervalMs: number;
  readonly connectTimeoutMs: number;
  /**
   * Every connection of a worker reads into this one buffer (`onread`): a read is verified
   * synchronously before the next can arrive, so nothing is allocated per read.
   */
  readonly readBuffer: Buffer;
  readonly tally: Tally;
  /** The connection is established, or failed to be. Called once. */
  settled(connection: LoadConnection): void;
  /** The connection has nothing left to do: quota sent and echoed, or failed. Called once. */
  finished(connection: LoadConnection): void;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

/** Where the socket listeners find their connection: no closure per socket for them. */
const owner = Symbol('connection');
type OwnedSocket = net.Socket & { [owner]: LoadConnection };

/**
 * One load-client connection's ping-pong state machine: connect, send `pipeline` messages, and
 * for each read check the bytes against the expected echo at the current offset, complete
 * messages, record their latency and send the next ones. (Not the server's `Connection` in
 * src/server/, which serves one client: this one is a client.)
 *
 * Its set-up is timed apart from its echoes: `connect` (starting the connect to the `connect`
 * event) and `firstEcho` (from then to the first echo) go to their own histograms, and every
 * message sent before the first echo came back (the first one, the rest of the pipeline,
 * `--rate` sends while waiting) stays out of `latency`: they all waited for the server to
 * accept and read the connection, which is set-up, not echo latency.
 *
 * Why an event-driven object and not a task from src/tasks. The runtime's cost is no longer
 * the reason: since switch points are reusable objects, the minimal client written as one task
 * per connection (load/bench/task-client.ts) spends 1.03 x the CPU per message of the same
 * client as an event handler (`npm run bench:client -- --tasks`, 500 connections, 64 B,
 * 2026-12-01; it was about 1.5 x with a closure per switch). What a connection does per read
 * is not a story told in order, though: a read completes any number of pipelined messages,
 * `--rate` sends come from a timer while echoes are outstanding, and every read is checked
 * where it lands. That reads more plainly as a state machine over one read. The data path is
 * also why reads go through `onread`
 * into one reused buffer (no Buffer and no stream `data` event per read) and why the clock
 * is `performance.now()` (a double; `process.hrtime.bigint()` allocates a BigInt per call
 * and measured slower).
 *
 * @example
 *   const connection = new LoadConnection(plan, 0, Infinity, 0);
 *   connection.open();
 */
export class LoadConnection {
  socket: net.Socket | undefined;
  private state = CONNECTING;
  private done = false;
  /** performance.now() when the connect was started. */
  private openedAt = 0;
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
  private timer: NodeJS.Timeout | undefined;
  private readonly onDue = (): void => {
    this.timer = undefined;
    this.pump(performance.now());
  };

  /**
   * @param index the connection's number in the whole run (for messages and the rate phase)
   * @param toSend messages this connection sends in all; Infinity until stopped
   * @param phaseMs under `--rate`, delay of the first send, so connections do not fire in step
   */
  constructor(
    private readonly plan: LoadConnectionPlan,
    readonly index: number,
    private toSend: number,
    private readonly phaseMs: number,
  ) {
    this.stamps = new Float64Array(plan.pipeline);
  }

  /** Starts connecting. Every outcome is counted through the plan's tally. */
  open(): void {
    const plan = this.plan;
    this.openedAt = performance.now();
    const socket = net.connect({
      host: plan.host,
      port: plan.port,
      noDelay: true,
      onread: { buffer: plan.readBuffer, callback: (n: number) => this.onRead(n) },
    }) as OwnedSocket;
    socket[owner] = this;
    socket.on('error', onSocketError);
    socket.on('connect', onSocketConnect);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    this.socket = socket;
    if (plan.connectTimeoutMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.fail('timeout', `connect timeout after ${plan.connectTimeoutMs} ms, connection ${this.index}`);
      }, plan.connectTimeoutMs);
    }
  }

  /** Established and not failed: counts as held if the run stops now. */
  get healthy(): boolean {
    return this.state === OPEN;
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
    const wasConnecting = this.state === CONNECTING;
    this.state = CLOSED;
    this.clearTimer();
    if (wasConnecting) this.socket?.destroy();
    else this.socket?.end();
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

  connected(): void {
    const now = performance.now();
    this.clearTimer();
    if (this.state !== CONNECTING) return;
    this.state = OPEN;
    const tally = this.plan.tally;
    tally.connect.recordValue(toMicros(now - this.openedAt));
    tally.connected++;
    tally.open++;
    tally.publish();
    this.plan.settled(this);
    if (this.plan.intervalMs > 0) {
      this.nextDue = now + this.phaseMs;
      this.pump(now);
    } else {
      this.send(Math.min(this.plan.pipeline, this.toSend), now);
    }
    this.checkFinished();
  }

  /** A read of `n` bytes into the shared buffer: verify, complete messages, send more. */
  onRead(n: number): boolean {
    if (this.state !== OPEN) return true;
    const plan = this.plan;
    const size = plan.payloads.message.length;
    const offset = this.offset;
    const buffer = plan.readBuffer;
    // More bytes than are in flight can never be a correct echo, whatever they are.
    if (n > this.inFlight * size - offset || plan.payloads.expected.compare(buffer, 0, n, offset, offset + n) !== 0) {
      this.mismatch(n);
      return false;
    }
    this.received += n;
    const tally = plan.tally;
    tally.bytes += n;
    let total = offset + n;
    if (total >= size) {
      // One clock read per read, not per message: echoes completed by the same read arrived together.
      const now = performance.now();
      const stamps = this.stamps;
      const latency = tally.latency;
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

  private checkFinished(): void {
    if (this.toSend === 0 && this.inFlight === 0 && !this.done) {
      this.done = true;
      this.plan.finished(this);
    }
  }

  private mismatch(n: number): void {
    const size = this.plan.payloads.message.length;
    const outstanding = this.inFlight * size - this.offset;
    const read = this.plan.readBuffer.subarray(0, n);
    const expected = this.plan.payloads.expected.subarray(this.offset);
    this.fail('mismatch', describeMismatch(read, expected, outstanding, this.received, this.index));
  }

  /** Counts this connection's one failure and closes it; later events are ignored. */
  fail(kind: FailureKind, note: string): void {
    if (this.state === CLOSED) return;
    const wasConnecting = this.state === CONNECTING;
    this.state = CLOSED;
    this.clearTimer();
    const tally = this.plan.tally;
    if (!wasConnecting) tally.open--;
    tally.fail(kind, note);
    tally.publish();
    this.socket?.destroy();
    if (wasConnecting) this.plan.settled(this);
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
    this.fail('reset', note);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Whether the socket is still connecting: error codes then mean something else. */
  get connecting(): boolean {
    return this.state === CONNECTING;
  }
}

/** Milliseconds (performance.now() differences) to whole microseconds, at least 1 (the histograms' lowest value). */
function toMicros(ms: number): number {
  const micros = Math.round(ms * 1000);
  return micros > 0 ? micros : 1;
}

function onSocketError(this: OwnedSocket, error: NodeJS.ErrnoException): void {
  const connection = this[owner];
  const { kind, text } = classifySocketError(error, connection.connecting, connection.index);
  connection.fail(kind, text);
}

function onSocketConnect(this: OwnedSocket): void {
  this[owner].connected();
}

function onSocketEnd(this: OwnedSocket): void {
  const connection = this[owner];
  connection.closedByServer(`closed by the server (end of stream), connection ${connection.index}`);
}

function onSocketClose(this: OwnedSocket): void {
  const connection = this[owner];
  connection.closedByServer(`closed, connection ${connection.index}`);
}
