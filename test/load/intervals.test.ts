import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAILURE_KIND_NAMES } from '../../load/result/failure-kind.js';
import type { IntervalResult } from '../../load/result/intervals.js';
import type { LoadResult } from '../../load/result/result.js';
import { decodeHistogram } from '../../load/worker/histogram.js';
import { startServerProcess } from '../support/server-process.js';
import { LoadProcess, runLoad, runLoadJson } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'echo-intervals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sum = (intervals: readonly IntervalResult[], get: (interval: IntervalResult) => number) => intervals.reduce((total, interval) => total + get(interval), 0);

/** The intervals are contiguous, in time order, each on a multiple of the length, and their histograms decode to their counts. */
function expectWellFormed(result: LoadResult): IntervalResult[] {
  const intervals = result.intervals!;
  const length = result.intervalMs!;
  expect(intervals.length).toBeGreaterThan(1);
  intervals.forEach((interval, i) => {
    expect(interval.start % length, `intervals[${i}].start`).toBe(0);
    if (i > 0) expect(interval.start - intervals[i - 1]!.start, `intervals[${i}] follows the one before`).toBe(length);
    expect(interval.duration).toBeGreaterThan(0);
    expect(interval.duration).toBeLessThanOrEqual(length / 1000);
    expect(decodeHistogram(interval.histograms.latency).totalCount).toBe(interval.latency.totalCount);
    expect(interval.errors).toBe(FAILURE_KIND_NAMES.reduce((total, kind) => total + interval.failures[kind], 0));
  });
  return intervals;
}

/** Lines of JSON, parsed. */
const jsonLines = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('echo-load --interval', () => {
  it('counts in its intervals every message, byte and connect of a run measured from the start, each echo in one histogram', async () => {
    const server = await startServerProcess();
    // 4 connections at 40 msg/s, 120 messages: about 0.75 s in 100 ms intervals.
    const args = ['--port', String(server.port), '--clients', '4', '--workers', '2', '--rate', '40', '--messages', '120', '--interval', '100ms'];
    const { code, result } = await runLoadJson(args);
    expect(code).toBe(0);
    expect(result.intervalMs).toBe(100);
    const intervals = expectWellFormed(result);
    expect(intervals.every((interval) => interval.window === 'inside')).toBe(true);
    expect(sum(intervals, (interval) => interval.messages)).toBe(120);
    expect(sum(intervals, (interval) => interval.bytes)).toBe(result.throughput.total);
    expect(sum(intervals, (interval) => interval.connects)).toBe(4);
    expect(sum(intervals, (interval) => interval.firstEchoes)).toBe(4);
    expect(sum(intervals, (interval) => interval.closes)).toBe(0);
    expect(sum(intervals, (interval) => interval.errors)).toBe(0);
    expect(intervals.at(-1)!.open).toBe(4);
    // Each echo is in its interval's histogram, but for each connection's first: set-up
    // (`firstEcho`), as in the totals.
    for (const interval of intervals) expect(interval.latency.totalCount).toBe(interval.messages - interval.firstEchoes);
    expect(sum(intervals, (interval) => interval.latency.totalCount)).toBe(result.latency.totalCount!);
  });

  it('covers connecting and warm-up too, marked against the measured window the totals are of', async () => {
    const server = await startServerProcess();
    const args = ['--port', String(server.port), '--clients', '4', '--workers', '2', '--rate', '50', '--warmup', '400ms', '--duration', '600ms', '--interval', '100ms'];
    const { code, result } = await runLoadJson(args);
    expect(code).toBe(0);
    const intervals = expectWellFormed(result);
    const windows = intervals.map((interval) => interval.window);
    // before ... partial ... inside, in that order, each there.
    expect(windows.join(' ')).toMatch(/^(before )+(partial )+(inside ?)+$/);
    const inside = sum(intervals.filter((interval) => interval.window === 'inside'), (interval) => interval.messages);
    const partial = sum(intervals.filter((interval) => interval.window === 'partial'), (interval) => interval.messages);
    expect(result.requests.total).toBeGreaterThanOrEqual(inside);
    expect(result.requests.total).toBeLessThanOrEqual(inside + partial);
    expect(sum(intervals, (interval) => interval.messages)).toBeGreaterThan(result.requests.total!);
    expect(sum(intervals, (interval) => interval.connects)).toBe(4);
  });

  it('counts failures by kind in the interval they happened in', async () => {
    const server = await startServerProcess();
    // A port nothing listens on: the server's, once it has gone.
    const gone = await startServerProcess();
    gone.child.kill('SIGKILL');
    await gone.exited;
    const args = ['--target', `127.0.0.1:${server.port}`, '--target', `127.0.0.1:${gone.port}`, '--clients', '6', '--rate', '20', '--duration', '500ms', '--interval', '100ms'];
    const { code, result } = await runLoadJson(args);
    expect(code).toBe(1);
    expect(result.refused).toBe(3);
    const intervals = expectWellFormed(result);
    expect(sum(intervals, (interval) => interval.failures.refused)).toBe(3);
    expect(sum(intervals, (interval) => interval.errors)).toBe(3);
    expect(sum(intervals, (interval) => interval.connects)).toBe(3);
    expect(intervals.at(-1)!.open).toBe(3);
  });

  it.each(['0', '50ms', 'abc', '-1s', '1x'])('rejects --interval %s with exit code 2 and one line', async (value) => {
    const { code, stdout, stderr } = await runLoad(['--interval', value, '--clients', '1']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^echo-load: .*interval.*\n$/);
  });
});

describe('echo-load --timeseries', () => {
  it('writes each interval to a file while the run goes on, the same as the JSON result has', async () => {
    const server = await startServerProcess();
    const file = join(dir, 'run.jsonl');
    const run = new LoadProcess(['--json', '--timeseries', file, '--port', String(server.port), '--clients', '2', '--rate', '20', '--duration', '2s', '--interval', '200ms']);
    const lines = () => {
      try {
        return readFileSync(file, 'utf8').split('\n').length - 1;
      } catch {
        return 0;
      }
    };
    await run.waitFor(() => lines() >= 3);
    // Read before the end: the run measures for 2 s, and three lines take at most 0.6 s of it.
    expect(run.child.exitCode).toBe(null);
    const early = jsonLines(readFileSync(file, 'utf8'));
    const { code, stdout } = await run.finished;
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as LoadResult;
    expect(jsonLines(readFileSync(file, 'utf8'))).toEqual(result.intervals);
    expect(early).toEqual(result.intervals!.slice(0, early.length));
  });

  it('with -, streams the intervals on stdout as they end, then the result as --json prints it', async () => {
    const server = await startServerProcess();
    const run = new LoadProcess(['--timeseries', '-', '--port', String(server.port), '--clients', '2', '--workers', '2', '--rate', '20', '--duration', '2s', '--interval', '200ms']);
    await run.waitFor((self) => self.stdout.split('\n').length > 3);
    expect(run.child.exitCode).toBe(null);
    const { code, stdout } = await run.finished;
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    const result = lines.at(-1) as unknown as LoadResult;
    expect(result.requests.total).toBeGreaterThan(0);
    expect(lines.slice(0, -1)).toEqual(result.intervals);
  });

  it('fails before the run, in one line, when the file cannot be written', async () => {
    const { code, stdout, stderr } = await runLoad(['--timeseries', join(dir, 'no-such-dir', 'run.jsonl'), '--clients', '1', '--port', '1']);
    expect([code, stdout, stderr]).toEqual([1, '', `echo-load: cannot write --timeseries ${join(dir, 'no-such-dir', 'run.jsonl')}: ENOENT\n`]);
  });
});
