import { spawn } from 'node:child_process';
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram } from '../../../load/worker/histogram.js';
import { LOAD_CLI, type Finished } from './cli.js';

/**
 * Runs `echo-load merge ...args`, writing `stdin` (when given) to its standard input, as a
 * pipe from `kubectl logs` would. Bounded: a hung child is killed.
 *
 * @example
 *   const { code, stdout } = await runMerge(['--json', '-'], lines.join('\n'));
 */
export function runMerge(args: readonly string[], stdin?: string, limitMs = 30_000): Promise<Finished> {
  const child = spawn(process.execPath, [LOAD_CLI, 'merge', ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  if (stdin !== undefined) child.stdin!.end(stdin);
  const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The JsHistogram internals the reference below walks (public in hdr-histogram-js, not in its `Histogram` type). */
interface Buckets {
  countsArrayLength: number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
}

/**
 * One histogram holding every sample of the encoded histograms, built value by value (each
 * bucket's value recorded with its count) rather than with `add`, the way echo-load merges:
 * the reference a merge must equal. It then crosses one encoding, as a single echo-load
 * process's histogram does between its worker and its main thread: that is what makes `max`
 * the top of its bucket (and `min` its bottom) in every echo-load report, merged or not.
 *
 * @example
 *   referenceHistogram(results.map((r) => r.histograms!.latency)).getValueAtPercentile(99)
 */
export function referenceHistogram(encoded: readonly string[]): Histogram {
  const reference = createLatencyHistogram();
  for (const text of encoded) {
    const part = decodeFromCompressedBase64(text, 64) as unknown as Buckets;
    for (let i = 0; i < part.countsArrayLength; i++) {
      const count = part.getCountAtIndex(i);
      if (count > 0) reference.recordValueWithCount(part.valueFromIndex(i), count);
    }
  }
  return decodeFromCompressedBase64(encodeIntoCompressedBase64(reference), 64);
}
