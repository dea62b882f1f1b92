import type { Logger } from '../../src/log.js';
import { SHARED_SLOTS, SLOT_BYTES, SLOT_FAILED, SLOT_MESSAGES, SLOT_OPEN } from '../worker/tally.js';

/** Traffic over all workers during one sampling interval, as rates per second. */
export interface Sample {
  messages: number;
  bytes: number;
}

/** A last interval shorter than this is not kept as a sample (too short to be a rate). */
const MIN_PARTIAL_MS = 500;

/** What the progress line shows, once a second. */
export interface Tick {
  /** Seconds since this phase started (connect and warm-up, or the measured window). */
  seconds: number;
  measuring: boolean;
  messagesPerSecond: number;
  open: number;
  clients: number;
  failed: number;
}

/**
 * Reads the workers' shared counters once a second, on the main thread's clock: the
 * per-second samples behind the spread of messages/s and bytes/s, and the live progress.
 */
export class Sampler {
  /** Per-second rates over the measured window: one per second, plus a last part-second of at least 0.5 s. */
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private measuring = false;
  private seconds = 0;
  private last: Sample = { messages: 0, bytes: 0 };
  private lastAt = 0;

  constructor(
    private readonly shared: Float64Array,
    private readonly workers: number,
    private readonly clients: number,
    private readonly onTick: ((tick: Tick) => void) | undefined,
    private readonly log: Logger,
  ) {}

  /** (Re)starts the one-second clock; samples are kept only while `measuring`. */
  start(measuring: boolean): void {
    this.stop();
    this.measuring = measuring;
    this.seconds = 0;
    this.last = this.totals();
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  /** Stops the clock; the interval since the last tick becomes a sample if it is long enough. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.measuring && performance.now() - this.lastAt >= MIN_PARTIAL_MS) this.sample();
  }

  open(): number {
    return this.sum(SLOT_OPEN);
  }

  failed(): number {
    return this.sum(SLOT_FAILED);
  }

  /** Rates since the previous sample, over the time that really passed (timers run late). */
  private sample(): Sample {
    const totals = this.totals();
    const at = performance.now();
    const seconds = (at - this.lastAt) / 1000;
    const sample = {
      messages: Math.round((totals.messages - this.last.messages) / seconds),
      bytes: Math.round((totals.bytes - this.last.bytes) / seconds),
    };
    this.last = totals;
    this.lastAt = at;
    if (this.measuring) this.samples.push(sample);
    return sample;
  }

  private tick(): void {
    const sample = this.sample();
    this.seconds++;
    const tick: Tick = {
      seconds: this.seconds,
      measuring: this.measuring,
      messagesPerSecond: sample.messages,
      open: this.open(),
      clients: this.clients,
      failed: this.failed(),
    };
    this.log.debug(tick, 'sample');
    this.onTick?.(tick);
  }

  private totals(): Sample {
    return { messages: this.sum(SLOT_MESSAGES), bytes: this.sum(SLOT_BYTES) };
  }

  private sum(slot: number): number {
    let total = 0;
    for (let worker = 0; worker < this.workers; worker++) total += this.shared[worker * SHARED_SLOTS + slot]!;
    return total;
  }
}
