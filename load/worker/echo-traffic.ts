import type net from 'node:net';
import { describeMismatch } from '../result/failure.js';
import type { FailureKind } from '../result/failure-kind.js';
import type { LoadConnectionPlan, LoadTarget } from './connection-plan.js';
import { toMicros } from './histogram.js';
import { READ_BUFFER_SIZE } from './payload.js';

/** A connection's states (`EchoTraffic.state`). */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 2;
/** TCP is up (and the PROXY header sent), the TLS handshake is not done yet. */
export const HANDSHAKING = 3;

/**
 * The echo traffic of one load connection, the hot path on the client's side (the server's
 * is src/server/connection.ts): send `pipeline` messages, and for each read check the bytes
 * against the expected echo at the current offset, complete messages, record their latency
 * and send the next ones. Messages sent before the first echo came back stay out of
 * `latency`: they waited for the server to accept and read the connection, which is set-up
 * (`firstEcho` times the first of them). `LoadConnection` is the rest of the connection: its
 * set-up, its failures and its end.
 *
 * Why an event-driven object and not a task from src/tasks: not the runtime's cost (the
 * minimal client as one task per connection, bench/contenders/task-client.ts, spends 1.03 x the
 * CPU per message of the same client as an event handler: `npm run bench:client -- --tasks`,
 * 500 connections, 64 B), but that a read is not a story told in order: it completes any
 * number of pipelined messages, `--rate` sends come from a timer while echoes are
 * outstanding, and every read is checked where it lands: a state machine over one read.
 *
 * Reads go through `onread` into one reused buffer (no Buffer, no `data` event per read); the
 * clock is `performance.now()` (a double; `process.hrtime.bigint()` allocates a BigInt per
 * call and measured slower). Nothing here allocates per message.
 */
export abstract class EchoTraffic {
  socket: net.Socket | undefined;
  protected state = CONNECTING;
  /** No echo has come back yet: the oldest message in flight is the connection's first. */
  protected awaitingFirstEcho = true;
  /** Messages in flight that were sent before the first echo came back: not steady state. */
  private early = 0;
  /** Send time of each message in flight (intended time under `--rate`), oldest at `head`. */
  protected readonly stamps: Float64Array;
  protected head = 0;
  protected inFlight = 0;
  /** Bytes of the oldest in-flight message already received. */
  protected offset = 0;
  /** Bytes received so far, to say where a mismatch is. */
  private received = 0;
  private nextDue = 0;
  /** Messages this connection may still send: the client's quota, or as much of it as the lifetime allows. */
  protected toSend: number;
  protected timer: NodeJS.Timeout | undefined;
  private readonly onDue = (): void => {
    this.timer = undefined;
    this.pump(performance.now());
  };

  /**
   * @param index the connection's number in the whole run (for messages and the rate phase)
   * @param phaseMs under `--rate`, delay of the first send, so connections do not fire in step
   * @param toSend messages this connection sends at most
   * @param silent sends nothing (`--idle`): no stamps to keep
   */
  constructor(
    protected readonly plan: LoadConnectionPlan<unknown>,
    protected readonly target: LoadTarget,
    readonly index: number,
    protected readonly phaseMs: number,
    toSend: number,
    silent: boolean,
  ) {
    this.toSend = toSend;
    this.stamps = new Float64Array(silent ? 0 : plan.pipeline);
  }

  /** The connection counts one failure and closes; later events are ignored. */
  abstract fail(kind: FailureKind, note: string): void;

  /** Called whenever sends or echoes may have finished the connection's share. */
  protected abstract checkFinished(): void;

  /** Ready for traffic: the first messages go out (under `--rate`, when the phase says). */
  protected startTraffic(now: number): void {
    if (this.plan.intervalMs > 0) {
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
  protected send(count: number, at: number, step = 0): void {
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
  protected pump(now: number): void {
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
}
