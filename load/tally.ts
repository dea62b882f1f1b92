import { createLatencyHistogram, type Histogram } from './histogram.js';

/** Why a connection stopped counting as held. Each connection fails at most once. */
export type FailureKind = 'refused' | 'reset' | 'timeout' | 'mismatch' | 'error';

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
  /** Connections still open and healthy when the run stopped. */
  held: number;
  refused: number;
  resets: number;
  timeouts: number;
  mismatches: number;
  /** Failures that fit no category above (EADDRNOTAVAIL, EHOSTUNREACH, ...). */
  otherErrors: number;
  /** Wall-clock ms (epoch, sub-ms precision) of the first send and the last echo, 0 if none. */
  firstSendAt: number;
  lastEchoAt: number;
}

/** Slots per worker in the shared counters the main thread samples once a second. */
export const SHARED_SLOTS = 4;
export const SLOT_MESSAGES = 0;
export const SLOT_BYTES = 1;
export const SLOT_OPEN = 2;
export const SLOT_FAILED = 3;

/**
 * One worker's running counts and latency histogram. The data path only does `tally.x += n`
 * and one histogram record per message; `publish` copies the totals into shared memory.
 */
export class Tally {
  sent = 0;
  messages = 0;
  bytes = 0;
  connected = 0;
  open = 0;
  refused = 0;
  resets = 0;
  timeouts = 0;
  mismatches = 0;
  otherErrors = 0;
  /** performance.now() of the first send and of the last completed echo; 0 = none yet. */
  firstSend = 0;
  lastEcho = 0;
  /** The first failure of each kind, in words, for the report. */
  readonly notes: Partial<Record<FailureKind, string>> = {};
  readonly latency: Histogram = createLatencyHistogram();

  /** Whether the measured window has started. */
  measuring = false;
  private base = { sent: 0, messages: 0, bytes: 0 };

  /**
   * @param shared the run's shared Float64Array; this worker owns `SHARED_SLOTS` slots from
   *   `slot`. Each slot has a single writer, and aligned 8-byte stores do not tear on the
   *   platforms Node runs on, so plain stores suffice (no Atomics on the data path).
   */
  constructor(
    private readonly shared: Float64Array = new Float64Array(SHARED_SLOTS),
    private readonly slot = 0,
  ) {}

  /** Starts the measured window: figures from here on only; failures always count. */
  startMeasuring(): void {
    this.measuring = true;
    this.base = { sent: this.sent, messages: this.messages, bytes: this.bytes };
    this.latency.reset();
  }

  /** Counts one failed connection; the first of each kind is kept in words. */
  fail(kind: FailureKind, note: string): void {
    if (kind === 'refused') this.refused++;
    else if (kind === 'reset') this.resets++;
    else if (kind === 'timeout') this.timeouts++;
    else if (kind === 'mismatch') this.mismatches++;
    else this.otherErrors++;
    this.notes[kind] ??= note;
    this.shared[this.slot + SLOT_FAILED] = this.failures();
  }

  failures(): number {
    return this.refused + this.resets + this.timeouts + this.mismatches + this.otherErrors;
  }

  /** Copies the running totals where the main thread can sample them. */
  publish(): void {
    const shared = this.shared;
    shared[this.slot + SLOT_MESSAGES] = this.messages;
    shared[this.slot + SLOT_BYTES] = this.bytes;
    shared[this.slot + SLOT_OPEN] = this.open;
  }

  /** The final counts, as the worker sends them to the main thread. */
  counts(held: number): TallyCounts {
    const origin = performance.timeOrigin;
    return {
      sent: this.sent - this.base.sent,
      messages: this.messages - this.base.messages,
      bytes: this.bytes - this.base.bytes,
      connected: this.connected,
      held,
      refused: this.refused,
      resets: this.resets,
      timeouts: this.timeouts,
      mismatches: this.mismatches,
      otherErrors: this.otherErrors,
      firstSendAt: this.firstSend === 0 ? 0 : origin + this.firstSend,
      lastEchoAt: this.lastEcho === 0 ? 0 : origin + this.lastEcho,
    };
  }
}
