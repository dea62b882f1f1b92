import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** The latency histogram type, so that no other file imports hdr-histogram-js. */
export type { Histogram };

/**
 * The one place hdr-histogram-js is used. Latencies are recorded in whole microseconds, three
 * significant digits (1 µs resolution up to 1 ms, 0.1% beyond), 64-bit counts so a long run
 * cannot overflow a bucket. The plain JS implementation: one record is a few array operations,
 * cheaper than a call into WebAssembly.
 */
export function createLatencyHistogram(): Histogram {
  return build({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Compresses a histogram to a string that can cross a thread boundary (HdrHistogram's standard encoding). */
export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

/**
 * Decodes one histogram (HdrHistogram's compressed base64); throws on anything else.
 *
 * @example
 *   decodeHistogram(result.histograms.latency).getValueAtPercentile(99) // µs
 */
export function decodeHistogram(encoded: string): Histogram {
  const merged = createLatencyHistogram();
  merged.add(decodeFromCompressedBase64(encoded, 64));
  return merged;
}

/**
 * Decodes the workers' histograms and adds them into one.
 *
 * @example
 *   const all = mergeHistograms(results.map((r) => r.histograms.latency));
 */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const merged = createLatencyHistogram();
  for (const text of encoded) {
    const histogram = decodeFromCompressedBase64(text, 64);
    merged.add(histogram);
  }
  return merged;
}

/** The percentiles autocannon reports, and the keys it reports them under (`p99_9` for 99.9). */
export const PERCENTILES = [0.001, 0.01, 0.1, 1, 2.5, 10, 25, 50, 75, 90, 97.5, 99, 99.9, 99.99, 99.999] as const;

/** `99.9` -> `'p99_9'`, autocannon's key for a percentile. */
export function percentileKey(percentile: number): string {
  return `p${String(percentile).replace('.', '_')}`;
}

/** Mean, spread and percentiles of a histogram, scaled by `scale` (1000 turns µs into ms). */
export function summarizeHistogram(histogram: Histogram, scale: number): Record<string, number> {
  const round = (value: number) => Math.round((value / scale) * 1000) / 1000;
  const empty = histogram.totalCount === 0;
  const summary: Record<string, number> = {
    average: empty ? 0 : round(histogram.mean),
    mean: empty ? 0 : round(histogram.mean),
    stddev: empty ? 0 : round(histogram.stdDeviation),
    min: empty ? 0 : round(histogram.minNonZeroValue),
    max: empty ? 0 : round(histogram.maxValue),
  };
  for (const percentile of PERCENTILES) {
    summary[percentileKey(percentile)] = empty ? 0 : round(histogram.getValueAtPercentile(percentile));
  }
  return summary;
}

/** Milliseconds (performance.now() differences) to whole microseconds, at least 1 (the histograms' lowest value). */
export function toMicros(ms: number): number {
  const micros = Math.round(ms * 1000);
  return micros > 0 ? micros : 1;
}
