import type { LoadOptions } from '../options/options.js';
import type { FailureNotes } from '../result/failure-kind.js';
import type { IntervalCounts } from '../result/intervals.js';
import type { TallyCounts, TargetCounts, Timing } from '../worker/tally.js';

/**
 * What a worker is given at start (its `workerData`): the run's options it needs, and its own
 * place in the run. Connection `i` of the run belongs to worker `i % workers`, so a connect
 * ramp and a message quota spread evenly over workers, goes to target `i % targets`, and
 * connects from source `i % sources`.
 */
export type WorkerConfig = Pick<
  LoadOptions,
  'workers' | 'clients' | 'shape' | 'payload' | 'pipeline' | 'rate' | 'connectRate' | 'connectTimeoutMs' | 'timeoutMs' | 'messages' | 'tls' | 'proxyProtocol' | 'intervalLengthMs' | 'sources'
> & {
  /** This worker's number, 0-based. */
  worker: number;
  /** Every target of the run, in order. */
  targets: WorkerTarget[];
  /** Start measuring at once (message-count runs) instead of on a `measure` message. */
  measureFromStart: boolean;
  /** Float64Array backing store; this worker writes slots [worker * SHARED_SLOTS, +SHARED_SLOTS). */
  counters: SharedArrayBuffer;
};

/** A target as a worker connects to it. */
export interface WorkerTarget {
  /** An address, resolved once by the main thread (a `--target` host may be a name). */
  host: string;
  port: number;
  /** Under `--tls`: SNI and the name the certificate must match; undefined: the address. */
  servername: string | undefined;
}

/** Main thread to worker. */
export type MainMessage =
  /**
   * Every worker is up: open the connections. `startsAt` is when the run's connect schedule
   * begins, as `performance.timeOrigin + performance.now()` on the main thread: one instant for
   * all workers, whose clocks each have their own origin.
   */
  | { type: 'start'; startsAt: number }
  /** Warm-up is over: figures count from now. */
  | { type: 'measure' }
  /** Stop sending, report, close politely. */
  | { type: 'stop' };

/** Worker to main thread. */
export type WorkerMessage =
  /** The thread is up, its connections planned: it waits for `start`. */
  | { type: 'up' }
  /** Every connection of this worker is established or has failed to be. */
  | { type: 'ready' }
  /** No connection of this worker has anything left to do (quota done, or all failed). */
  | { type: 'done' }
  /** An interval of this worker's run has ended (in time order; the last before `result`). */
  | { type: 'interval'; interval: IntervalCounts }
  /** The answer to `stop`: final counts, and every histogram encoded (HdrHistogram's compressed base64); `targets` in the run's order. */
  | { type: 'result'; counts: TallyCounts; histograms: Record<Timing, string>; targets: TargetCounts[]; notes: FailureNotes };
