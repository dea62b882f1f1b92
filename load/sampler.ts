import type { Logger } from '../src/log.js';
import { SHARED_SLOTS, SLOT_BYTES, SLOT_FAILED, SLOT_MESSAGES, SLOT_OPEN } from './tally.js';

/** One second of traffic over all workers. */
export interface Sample {
  messages: number;
  bytes: number;
}

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
  /** Per-second samples of the measured window (full seconds only). */
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private measuring = false;
  private seconds = 0;
  private last: Sample = { messages: 0, bytes: 0 };

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
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  open(): number {
    return this.sum(SLOT_OPEN);
  }

  failed(): number {
    return this.sum(SLOT_FAILED);
  }

  private tick(): void {
    const now = this.totals();
    const sample = { messages: now.messages - this.last.messages, bytes: now.bytes - this.last.bytes };
    this.last = now;
    this.seconds++;
    if (this.measuring) this.samples.push(sample);
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
