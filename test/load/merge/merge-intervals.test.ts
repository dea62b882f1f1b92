import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAILURE_KIND_NAMES } from '../../../load/result/failure-kind.js';
import { INTERVAL_COUNT_NAMES, type IntervalResult } from '../../../load/result/intervals.js';
import type { LoadResult } from '../../../load/result/result.js';
import { decodeHistogram } from '../../../load/worker/histogram.js';
import { startServerProcess } from '../../support/server-process.js';
import { runLoadJson } from '../support/cli.js';
import { referenceHistogram, runMerge } from '../support/merge.js';

const dir = mkdtempSync(join(tmpdir(), 'echo-merge-intervals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function save(name: string, result: LoadResult): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(result));
  return file;
}

function parse(stdout: string): LoadResult {
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as LoadResult;
}

/** Runs two echo-load processes side by side against one server, 200 ms intervals unless `lengths` say otherwise. */
async function twoRuns(lengths = ['200ms', '200ms']): Promise<LoadResult[]> {
  const server = await startServerProcess();
  const runs = await Promise.all(
    lengths.map((length, i) =>
      runLoadJson(['--port', String(server.port), '--clients', String(3 + i), '--workers', '2', '--rate', '30', '--duration', '1500ms', '--interval', length]),
    ),
  );
  for (const run of runs) expect([run.code, run.stderr]).toEqual([0, '']);
  return runs.map((run) => run.result);
}

describe('echo-load merge, over time', () => {
  it('adds the intervals of processes run side by side by start: counts summed, histograms added', async () => {
    const parts = await twoRuns();
    const merge = await runMerge(['--json', save('a.json', parts[0]!), save('b.json', parts[1]!)]);
    expect([merge.code, merge.stderr]).toEqual([0, '']);
    const merged = parse(merge.stdout);
    expect(merged.intervalMs).toBe(200);

    const byStart = new Map<number, IntervalResult[]>();
    for (const interval of parts.flatMap((part) => part.intervals!)) byStart.set(interval.start, [...(byStart.get(interval.start) ?? []), interval]);
    const starts = [...byStart.keys()].sort((a, b) => a - b);
    expect(merged.intervals!.map((interval) => interval.start)).toEqual(starts);
    // The processes ran side by side: most intervals have a part from each.
    expect(starts.filter((start) => byStart.get(start)!.length === 2).length).toBeGreaterThan(starts.length / 2);
    for (const interval of merged.intervals!) {
      const group = byStart.get(interval.start)!;
      for (const key of INTERVAL_COUNT_NAMES) expect(interval[key], `${interval.start} ${key}`).toBe(group.reduce((total, part) => total + part[key], 0));
      for (const kind of FAILURE_KIND_NAMES) expect(interval.failures[kind]).toBe(group.reduce((total, part) => total + part.failures[kind], 0));
      expect(interval.duration).toBe(Math.max(...group.map((part) => part.duration)));
      const windows = new Set(group.map((part) => part.window));
      expect(interval.window).toBe(windows.size === 1 ? group[0]!.window : 'partial');
      const reference = referenceHistogram(group.map((part) => part.histograms.latency));
      const histogram = decodeHistogram(interval.histograms.latency);
      expect(histogram.totalCount).toBe(reference.totalCount);
      expect(interval.latency.totalCount).toBe(reference.totalCount);
      for (const percentile of [50, 90, 99, 100]) expect(histogram.getValueAtPercentile(percentile)).toBe(reference.getValueAtPercentile(percentile));
    }
    // Whole-run counts are the same either way.
    const total = (result: LoadResult) => result.intervals!.reduce((sum, interval) => sum + interval.messages, 0);
    expect(total(merged)).toBe(total(parts[0]!) + total(parts[1]!));
  });

  it('gives back the intervals of one result as they were', async () => {
    const [part] = await twoRuns(['200ms']);
    const merge = await runMerge(['--json', save('one.json', part!)]);
    expect([merge.code, merge.stderr]).toEqual([0, '']);
    const merged = parse(merge.stdout);
    expect(merged.intervalMs).toBe(part!.intervalMs);
    expect(merged.intervals).toEqual(part!.intervals);
  });

  it('says so, and merges no intervals, when the inputs were cut in different lengths', async () => {
    const parts = await twoRuns(['200ms', '300ms']);
    const merge = await runMerge(['--json', save('200.json', parts[0]!), save('300.json', parts[1]!)]);
    expect(merge.code).toBe(0);
    expect(merge.stderr).toBe('echo-load merge: inputs differ in interval length (200, 300 ms): their intervals cannot be merged by time, the merge has none\n');
    const merged = parse(merge.stdout);
    expect(merged.intervals).toBeUndefined();
    expect(merged.requests.total).toBe(parts[0]!.requests.total! + parts[1]!.requests.total!);
  });
});
