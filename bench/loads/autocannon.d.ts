/**
 * The part of autocannon's programmatic API that the scrape-storm benchmark uses
 * (autocannon ships no types; see its README, "Programmatic API").
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      connections?: number;
      /** Seconds. */
      duration?: number;
      /** Milliseconds between samples; the run stops at the first sample after `stop()`. */
      sampleInt?: number;
      /** Seconds before a request counts as a timeout. */
      timeout?: number;
      /** A mismatch unless the body is exactly this. */
      expectBody?: string;
      /** A mismatch unless this returns true for the body. */
      verifyBody?: (body: string) => boolean;
      /** The result keeps its histograms encoded, for `aggregateResult`. */
      skipAggregateResult?: boolean;
    }

    /** A statistics object: `average`, `mean`, `stddev`, `min`, `max`, `p50`, `p99`, ... */
    type Histogram = Record<string, number>;

    interface Result {
      latency: Histogram;
      requests: Histogram;
      throughput: Histogram;
      duration: number;
      errors: number;
      timeouts: number;
      mismatches: number;
      resets: number;
      non2xx: number;
      '1xx': number;
      '2xx': number;
      '3xx': number;
      '4xx': number;
      '5xx': number;
      statusCodeStats: Record<string, { count: number }>;
    }

    /** The raw result of a run with `skipAggregateResult`. */
    interface RawResult {
      totalCompletedRequests: number;
      duration: number;
    }

    interface Instance extends EventEmitter {
      stop(): void;
    }

    /** Merges the raw results of runs made with `skipAggregateResult`. */
    function aggregateResult(results: readonly RawResult[], options?: Partial<Options>): Result;
  }

  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.RawResult) => void): autocannon.Instance;

  export = autocannon;
}
