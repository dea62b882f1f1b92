import { noFailures, totalFailures, type FailureCounts, type FailureKind, type FailureNotes } from '../result/failure-kind.js';
import { createLatencyHistogram, encodeHistogram, type Histogram } from './histogram.js';

/**
 * What each connection's times are recorded in, one HDR histogram per worker (µs), merged by
 * the main thread:
 * - `latency`: echo latency in steady state, over the measured window. Messages sent before
 *   their connection's first echo came back are not in it (they waited for the same accept);
 * - `connect`: from starting the connect to the socket's `connect` event, over the whole run
 *   (SYN retransmits from an overflowing accept queue show here);
 * - `handshake`: under `--tls`, from the `connect` event to `secureConnect` (the TLS handshake,
 *   after the PROXY header if one is sent), over the whole run;
 * - `firstEcho`: from the connection being ready (the `connect` event, under TLS
 *   `secureConnect`) to the completion of the connection's first echo,
 *   over the whole run (time spent unaccepted in the server's accept queue shows here). Under
 *   `--rate` it counts from the first message's intended send time instead, so that the
 *   connection's phase (a deliberate delay of less than one interval) is not in it;
 * - `reconnect`: under `--reconnect`, from a connection's disruption to its successor being
 *   established (backoffs and failed attempts included), over the whole run.
 *
 * Connections are set up before the measured window starts, so `connect`, `handshake`,
 * `firstEcho` and `reconnect` are never reset.
 */
export const TIMINGS = ['latency', 'connect', 'handshake', 'firstEcho', 'reconnect'] as const;
export type Timing = (typeof TIMINGS)[number];

/** The counters one worker reports at the end: plain numbers, so they cross threads as they are. */
export interface TallyCounts {
  /** Messages written during the measured window. */
  sent: number;
  /** Messages whose echo came back complete and exact during the measured window. */
  messages: number;
  /** Echoed bytes received and verified during the measured window. */
  bytes: number;
  /** Connections that were established at some point. */
  connected: number;
  /** Connections still open and healthy when the run stopped (`--idle` ones apart, in `idle`). */
  held: number;
  /** Connections ended politely before the run's end: a lifetime, or a ramp down. */
  closed: number;
  /** Under `--reconnect`: connections the server side broke, and successors that were established after one. */
  disrupted: number;
  reconnects: number;
  /** Bytes sent on disrupted connections and never echoed. */
  unechoedBytes: number;
  /** `--idle` connections still open and silent when the run stopped. */
  idle: number;
  /** Failed connections, by why (whenever they failed). */
  failed: FailureCounts;
  /** Wall-clock ms (epoch, sub-ms precision) of the first send and the last echo, 0 if none. */
  firstSendAt: number;
  lastEchoAt: number;
}

/** One target's share of a worker's connections: what the per-target breakdown is made of. */
export interface TargetCounts {
  /** Connections of this worker that go to the target. */
  connections: number;
  connected: number;
  held: number;
  /** Messages echoed during the measured window. */
  messages: number;
  /** Failed connections, whatever the kind. */
  errors: number;
  /** The target's echo latency, encoded (HdrHistogram's compressed base64). */
  latency: string;
}

/**
 * One target's running counts in a worker. Each echo records its latency once, into `latency`:
 * what came in since the last fold. A fold (at each interval's end, at the measured window's
 * start and at the stop) adds it to the worker's interval histogram and, in the measured
 * window, to `measured`, then empties it. The worker's overall latency is the sum of its
 * targets' `measured`, added once at the end.
 */
export class TargetTally {
  connections = 0;
  connected = 0;
  messages = 0;
  errors = 0;
  /** Echo latency since the last fold: the one histogram the data path records into. */
  readonly latency: Histogram = createLatencyHistogram();
  /** Echo latency over the measured window, as of the last fold. */
  readonly measured: Histogram = createLatencyHistogram();
  private base = 0;

  startMeasuring(): void {
    this.base = this.messages;
  }

  /** Moves `latency` into `interval`, and into `measured` if the window has started. */
  fold(interval: Histogram, measuring: boolean): void {
    if (this.latency.totalCount === 0) return;
    interval.add(this.latency);
    if (measuring) this.measured.add(this.latency);
    this.latency.reset();
  }

  /** Over the measured window, as of the last fold. */
  counts(held: number): TargetCounts {
    const { connections, connected, errors } = this;
    return { connections, connected, held, messages: this.messages - this.base, errors, latency: encodeHistogram(this.measured) };
  }
}

/** Slots per worker in the shared counters the main thread samples once a second. */
export const SHARED_SLOTS = 4;
export const SLOT_MESSAGES = 0;
export const SLOT_BYTES = 1;
export const SLOT_OPEN = 2;
export const SLOT_FAILED = 3;

/**
 * One worker's running counts and histograms. The data path only does `tally.x += n` and one
 * histogram record per message (into its target's `latency`); `publish` copies the totals
 * into shared memory. `fold` moves the targets' latency into `intervalLatency` (the interval
 * recorder encodes and empties it at each interval's end) and, in the measured window, into
 * their cumulative histograms.
 *
 * @example
 *   const tally = new Tally();
 *   tally.targets[0]!.latency.recordValue(250); // µs
 *   tally.fail('reset', 'connection reset by peer (ECONNRESET), connection 3');
 */
export class Tally {
  sent = 0;
  messages = 0;
  bytes = 0;
  connected = 0;
  open = 0;
  /** Connections this worker ended politely before the run's end: a lifetime or a ramp-down. */
  closed = 0;
  /** `--idle` connections open now: apart from `open`, which the progress line and the shapes count. */
  idleOpen = 0;
  disrupted = 0;
  reconnects = 0;
  unechoedBytes = 0;
  readonly failed: FailureCounts = noFailures();
  /** performance.now() of the first send and of the last completed echo; 0 = none yet. */
  firstSend = 0;
  lastEcho = 0;
  /** The first failure of each kind, in words, for the report. */
  readonly notes: FailureNotes = {};
  /** Per target (`--target`), in the run's order; the echo latency is recorded there. */
  readonly targets: TargetTally[];
  readonly connect: Histogram = createLatencyHistogram();
  readonly handshake: Histogram = createLatencyHistogram();
  readonly firstEcho: Histogram = createLatencyHistogram();
  readonly reconnect: Histogram = createLatencyHistogram();
  /** Echo latency of the current interval, as of the last fold, over every target. */
  readonly intervalLatency: Histogram = createLatencyHistogram();

  /** Whether the measured window has started. */
  measuring = false;
  private base = { sent: 0, messages: 0, bytes: 0 };

  /**
   * @param shared the run's shared Float64Array; this worker owns `SHARED_SLOTS` slots from
   *   `slot`. Each slot has a single writer, and aligned 8-byte stores do not tear on the
   *   platforms Node runs on, so plain stores suffice (no Atomics on the data path).
   * @param targets how many targets the run drives
   */
  constructor(
    private readonly shared: Float64Array = new Float64Array(SHARED_SLOTS),
    private readonly slot = 0,
    targets = 1,
  ) {
    this.targets = Array.from({ length: targets }, () => new TargetTally());
  }

  /**
   * Starts the measured window: traffic figures from here on only. Failures and the set-up
   * times (`connect`, `handshake`, `firstEcho`) always count: connections are set up before
   * the window starts.
   */
  startMeasuring(): void {
    // What came before the window is in the interval, not in the window's figures.
    this.fold();
    this.measuring = true;
    this.base = { sent: this.sent, messages: this.messages, bytes: this.bytes };
    for (const target of this.targets) target.startMeasuring();
  }

  /** Moves every target's latency since the last fold into `intervalLatency` (and the window's). */
  fold(): void {
    for (const target of this.targets) target.fold(this.intervalLatency, this.measuring);
  }

  /** Counts one failed connection; the first of each kind is kept in words. */
  fail(kind: FailureKind, note: string): void {
    this.failed[kind]++;
    this.notes[kind] ??= note;
    this.shared[this.slot + SLOT_FAILED] = totalFailures(this.failed);
  }

  /** Copies the running totals where the main thread can sample them. */
  publish(): void {
    const shared = this.shared;
    shared[this.slot + SLOT_MESSAGES] = this.messages;
    shared[this.slot + SLOT_BYTES] = this.bytes;
    shared[this.slot + SLOT_OPEN] = this.open;
  }

  /** The final counts, as the worker sends them to the main thread. */
  counts(held: number, idle: number): TallyCounts {
    const origin = performance.timeOrigin;
    return {
      sent: this.sent - this.base.sent,
      messages: this.messages - this.base.messages,
      bytes: this.bytes - this.base.bytes,
      connected: this.connected,
      held,
      closed: this.closed,
      disrupted: this.disrupted,
      reconnects: this.reconnects,
      unechoedBytes: this.unechoedBytes,
      idle,
      failed: { ...this.failed },
      firstSendAt: this.firstSend === 0 ? 0 : origin + this.firstSend,
      lastEchoAt: this.lastEcho === 0 ? 0 : origin + this.lastEcho,
    };
  }

  /** Every histogram, encoded to cross to the main thread (after a last `fold`). */
  encodeHistograms(): Record<Timing, string> {
    this.fold();
    let latency = this.targets[0]!.measured;
    if (this.targets.length > 1) {
      latency = createLatencyHistogram();
      for (const target of this.targets) latency.add(target.measured);
    }
    return {
      latency: encodeHistogram(latency),
      connect: encodeHistogram(this.connect),
      handshake: encodeHistogram(this.handshake),
      firstEcho: encodeHistogram(this.firstEcho),
      reconnect: encodeHistogram(this.reconnect),
    };
  }
}
