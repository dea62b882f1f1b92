import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeHistogram, summarizeHistogram } from '../../../load/worker/histogram.js';
import type { LoadResult } from '../../../load/result/result.js';
import { runLoadJson } from '../support/cli.js';
import { referenceHistogram, runMerge } from '../support/merge.js';
import { startServerProcess } from '../../support/server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'echo-merge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a result where `echo-load merge` can read it. */
function save(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

function parse(stdout: string): LoadResult {
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as LoadResult;
}

const TIMINGS = ['latency', 'connect', 'firstEcho'] as const;

/** Every bucket of two histograms holds the same count. */
function expectSameBuckets(actual: string, expected: ReturnType<typeof referenceHistogram>) {
  const merged = decodeHistogram(actual);
  expect(merged.totalCount).toBe(expected.totalCount);
  const buckets = (h: unknown) => h as { countsArrayLength: number; getCountAtIndex(i: number): number };
  const length = Math.max(buckets(merged).countsArrayLength, buckets(expected).countsArrayLength);
  const differing: number[] = [];
  for (let i = 0; i < length; i++) {
    const a = i < buckets(merged).countsArrayLength ? buckets(merged).getCountAtIndex(i) : 0;
    const b = i < buckets(expected).countsArrayLength ? buckets(expected).getCountAtIndex(i) : 0;
    if (a !== b) differing.push(i);
  }
  expect(differing).toEqual([]);
}

describe('echo-load merge', () => {
  it('merges three echo-load processes into exact sums, and percentiles of one histogram holding all their samples', async () => {
    const [one, two] = await Promise.all([startServerProcess(), startServerProcess()]);
    const runs = await Promise.all([
      runLoadJson(['--port', String(one.port), '--clients', '4', '--messages', '2000', '--workers', '2']),
      runLoadJson(['--port', String(two.port), '--clients', '3', '--messages', '1500', '--pipeline', '4', '--workers', '1']),
      // The third drives both servers: its targets merge with the others' by name.
      runLoadJson(['--target', `127.0.0.1:${one.port}`, '--target', `127.0.0.1:${two.port}`, '--clients', '6', '--messages', '3000', '--workers', '2']),
    ]);
    for (const run of runs) expect([run.code, run.stderr]).toEqual([0, '']);
    const parts = runs.map((run) => run.result);
    const files = runs.map((run, i) => save(`three-${i}.json`, run.stdout));

    const merge = await runMerge(['--json', ...files]);
    // Settings that differ are said, not fatal: the second run pipelined.
    expect([merge.code, merge.stderr]).toEqual([0, 'echo-load merge: inputs differ in pipelining (1, 4): the report shows the first\n']);
    const merged = parse(merge.stdout);
    const sum = (get: (result: LoadResult) => number) => parts.reduce((total, part) => total + get(part), 0);

    expect(merged.merged).toBe(3);
    expect(merged.connections).toBe(13);
    expect(merged.connected).toBe(sum((r) => r.connected));
    expect(merged.held).toBe(13);
    expect(merged.workers).toBe(5);
    expect(merged.requests.total).toBe(6500);
    expect(merged.requests.sent).toBe(sum((r) => r.requests.sent!));
    expect(merged.throughput.total).toBe(6500 * 64);
    expect([merged.errors, merged.refused, merged.resets, merged.timeouts, merged.mismatches]).toEqual([0, 0, 0, 0, 0]);
    expect(merged.duration).toBe(Math.max(...parts.map((r) => r.duration)));

    for (const timing of TIMINGS) {
      const reference = referenceHistogram(parts.map((part) => part.histograms![timing]));
      expect(reference.totalCount, timing).toBe(sum((r) => r[timing].totalCount!));
      // Every statistic (percentiles, mean, stddev, min, max) is the reference's.
      expect(merged[timing], timing).toEqual({ ...summarizeHistogram(reference, 1000), totalCount: reference.totalCount });
      expect(merged[timing].p99, timing).toBe(Math.round(reference.getValueAtPercentile(99)) / 1000);
      expect(merged[timing].p50, timing).toBe(Math.round(reference.getValueAtPercentile(50)) / 1000);
      expectSameBuckets(merged.histograms![timing], reference);
    }

    // Targets are matched by name: the first server had 4 + 3 connections, the second 3 + 3.
    const name = (port: number) => `127.0.0.1:${port}`;
    expect(merged.targets!.map((t) => [t.target, t.connections, t.held, t.messages, t.errors])).toEqual([
      [name(one.port), 7, 7, 3500, 0],
      [name(two.port), 6, 6, 3000, 0],
    ]);
    const first = merged.targets![0]!;
    const firstParts = [parts[0]!.targets![0]!, parts[2]!.targets![0]!];
    expect(first.latency).toEqual({ ...summarizeHistogram(referenceHistogram(firstParts.map((t) => t.histograms.latency)), 1000), totalCount: firstParts[0]!.latency.totalCount! + firstParts[1]!.latency.totalCount! });

    // The human report of the same merge.
    const report = await runMerge(files);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/^echo-load: 3 results merged: 13 connections to 2 targets over 5 workers/);
    expect(report.stdout).toContain('6,500 messages echoed');
    expect(report.stdout).toMatch(/│ 127\.0\.0\.1:\d+ +│ 7 +│ 7 +│ 3,500 +│ 53\.8% +│ 0 +│/);
  });

  it('reads JSON lines on standard input as kubectl logs gives them, and says how many lines were not results', async () => {
    const { port } = await startServerProcess();
    const [a, b] = await Promise.all([
      runLoadJson(['--port', String(port), '--clients', '2', '--messages', '200', '--log-level', 'info']),
      runLoadJson(['--port', String(port), '--clients', '3', '--messages', '300', '--log-level', 'info']),
    ]);
    const logsOf = (stderr: string) => stderr.trimEnd().split('\n');
    // pino's own lines (JSON, but not results) around each result, one result behind
    // `kubectl logs --prefix`'s prefix, a line of kubectl's own, a blank line.
    const noise = ['Defaulted container "echo-load" out of: echo-load', ...logsOf(a.stderr), ...logsOf(b.stderr).map((line) => `2026-12-01T12:00:00.000000000Z ${line}`)];
    expect(logsOf(a.stderr).length).toBeGreaterThanOrEqual(3);
    const stdin = [noise[0], ...logsOf(a.stderr), a.stdout.trimEnd(), '', `[pod/echo-load-1-x7k2p/echo-load] ${b.stdout.trimEnd()}`, ...noise.slice(1 + logsOf(a.stderr).length)].join('\n');

    const merge = await runMerge(['--json', '-'], stdin);
    expect(merge.code).toBe(0);
    expect(merge.stderr).toBe(`echo-load merge: skipped ${noise.length} lines that were not results (the first: -:1); merged 2 results\n`);
    const merged = parse(merge.stdout);
    expect([merged.merged, merged.connections, merged.requests.total, merged.latency.totalCount]).toEqual([2, 5, 500, a.result.latency.totalCount! + b.result.latency.totalCount!]);
  });

  it('exits 2 with one line when no line is a result', async () => {
    const merge = await runMerge(['-'], 'Defaulted container "echo-load"\n{"level":30,"msg":"started"}\n\nError from server: pod not ready\n');
    expect(merge.code).toBe(2);
    expect(merge.stdout).toBe('');
    expect(merge.stderr).toBe('echo-load: merge: no echo-load result in -: 3 lines, none a result (the first: -:1)\n');
  });

  it('reads a result from before port exhaustion had a key of its own as none of that kind', async () => {
    const { port } = await startServerProcess();
    const { result, stdout } = await runLoadJson(['--port', String(port), '--clients', '2', '--messages', '20']);
    const { portsExhausted: _omitted, ...old } = result;
    const merge = await runMerge(['--json', save('current.json', stdout), save('before-ports.json', JSON.stringify(old))]);
    expect([merge.code, merge.stderr]).toEqual([0, '']);
    const merged = parse(merge.stdout);
    expect([merged.merged, merged.connections, merged.errors, merged.portsExhausted]).toEqual([2, 4, 0, 0]);
  });

  it('refuses, in one line, results it cannot merge exactly and files it cannot read', async () => {
    const { port } = await startServerProcess();
    const { result, stdout } = await runLoadJson(['--port', String(port), '--clients', '1', '--messages', '10']);
    const good = save('good.json', stdout);
    const { histograms: _omitted, ...old } = result;
    const cases: Array<[string, RegExp]> = [
      [save('old.json', `log line\n${JSON.stringify(old)}\n`), /^echo-load: merge: .*old\.json:2: an echo-load result without histograms \(from an older echo-load\?\) cannot be merged exactly\n$/],
      [save('corrupt.json', JSON.stringify({ ...result, histograms: { ...result.histograms, connect: 'not-base64!' } })), /^echo-load: merge: .*corrupt\.json: histograms\.connect is not an encoded HdrHistogram \(.+\)\n$/],
      [save('no-series.json', JSON.stringify({ ...result, series: undefined })), /^echo-load: merge: .*no-series\.json: 'series' is missing\n$/],
      [join(dir, 'missing.json'), /^echo-load: merge: cannot read '.*missing\.json' \(ENOENT\)\n$/],
    ];
    for (const [file, message] of cases) {
      const merge = await runMerge([good, file]);
      expect(merge.code, file).toBe(2);
      expect(merge.stdout, file).toBe('');
      expect(merge.stderr, file).toMatch(message);
    }
    const twice = await runMerge(['-', '-'], '');
    expect([twice.code, twice.stderr]).toEqual([2, "echo-load: merge: '-' (standard input) can be given once\n"]);
  });
});
