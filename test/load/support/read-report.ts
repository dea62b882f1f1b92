import { expect } from 'vitest';
import type { Distribution, LoadResult } from '../../../load/result/result.js';

// Reads the figures back out of echo-load's human report, by its own rules (not with the
// report's formatting functions), to compare them with the JSON result of the same run.

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/** `1,234.5` -> 1234.5 */
const count = (text: string) => Number(text.replace(/,/g, ''));

/** A figure as shown, and how far from the exact value its rounding may put it. */
interface Shown {
  value: number;
  within: number;
}

/** `12.35 ms` (2 decimals from 1 ms, 1 from 100 ms, 3 below 1 ms). */
function ms(text: string): Shown {
  const match = /^(\d+)\.(\d+) ms$/.exec(text);
  if (match === null) throw new Error(`not milliseconds: '${text}'`);
  return { value: Number(`${match[1]}.${match[2]}`), within: 0.5 * 10 ** -match[2]!.length + 1e-9 };
}

/** `2.75 MB` (three significant digits) or `640 B`. */
function bytes(text: string): Shown {
  const match = /^([\d.]+) (B|kB|MB|GB|TB)$/.exec(text);
  if (match === null) throw new Error(`not bytes: '${text}'`);
  const value = Number(match[1]) * UNITS[match[2]!]!;
  return { value, within: match[2] === 'B' ? 0.5 : value * 0.005 + 1e-9 };
}

/** `1,234.57` (at most two decimals). */
function rate(text: string): Shown {
  return { value: count(text), within: 0.005 + 1e-9 };
}

function expectShown(shown: Shown, exact: number | undefined, what: string): void {
  expect(exact, what).toBeTypeOf('number');
  expect(Math.abs(shown.value - exact!), `${what}: shown ${shown.value}, JSON ${exact}`).toBeLessThanOrEqual(shown.within);
}

/** The cells of the table row labelled `label`. */
function row(text: string, label: string): string[] | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`│ ${label} `));
  return line?.split('│').slice(2, -1).map((cell) => cell.trim());
}

/**
 * Expects every figure of `report` to be the JSON `result`'s, as rounded for display: the
 * header, each timing row (percentiles, average, stddev, max, count), the rate rows, the
 * sample count, the totals, the connections held and the error counts.
 */
export function expectReportOf(report: string, result: LoadResult): void {
  const header = /^echo-load: ([\d,]+) connections to (\S+) over (\d+) workers?, (.+) messages, pipeline (\d+)/m.exec(report);
  expect(header, 'header line').not.toBeNull();
  expect([count(header![1]!), header![2], Number(header![3]), bytes(header![4]!).value, Number(header![5])]).toEqual([
    result.connections,
    `${result.host}:${result.port}`,
    result.workers,
    result.size,
    result.pipelining,
  ]);

  const timings: Array<[string, Distribution | undefined]> = [
    ['Connect', result.connect],
    ['TLS handshake', result.handshake],
    ['First echo', result.firstEcho],
    ['Echo latency', result.latency],
  ];
  for (const [label, stats] of timings) {
    const cells = row(report, label);
    expect(cells === undefined, `${label} row shown iff in the JSON`).toBe(stats === undefined);
    if (stats === undefined) continue;
    (['p50', 'p90', 'p99', 'p99_9', 'average', 'stddev', 'max'] as const).forEach((key, i) => expectShown(ms(cells![i]!), stats[key], `${label} ${key}`));
    expect(count(cells![7]!), `${label} count`).toBe(stats.totalCount);
  }
  const rates: Array<[string, Distribution, (text: string) => Shown]> = [
    ['Msg/Sec', result.requests, rate],
    ['Bytes/Sec', result.throughput, bytes],
  ];
  for (const [label, stats, read] of rates) {
    const cells = row(report, label)!;
    (['p2_5', 'p50', 'p97_5', 'average', 'stddev', 'min', 'max'] as const).forEach((key, i) => expectShown(read(cells[i]!), stats[key], `${label} ${key}`));
  }

  expect(Number(/# of samples: (\d+)\./.exec(report)?.[1])).toBe(result.samples);
  const totals = /^([\d,]+) messages echoed in ([\d.]+) s, (.+) read: /m.exec(report);
  expect(totals, 'totals line').not.toBeNull();
  expect(count(totals![1]!)).toBe(result.requests.total);
  expectShown({ value: Number(totals![2]), within: 0.005 + 1e-9 }, result.duration, 'duration');
  expectShown(bytes(totals![3]!), result.throughput.total, 'bytes read');
  const held = /^([\d,]+) of ([\d,]+) connections held$/m.exec(report);
  expect([count(held![1]!), count(held![2]!)]).toEqual([result.held, result.connections]);
  const errors = /^([\d,]+) errors(?:$|: ([\d,]+) refused, (?:([\d,]+) handshake failures, )?([\d,]+) resets, ([\d,]+) timeouts, ([\d,]+) mismatches)/m.exec(report);
  expect(errors, 'errors line').not.toBeNull();
  expect(count(errors![1]!)).toBe(result.errors);
  if (result.errors > 0) {
    expect([errors![2], errors![4], errors![5], errors![6]].map((n) => count(n!))).toEqual([result.refused, result.resets, result.timeouts, result.mismatches]);
  }
  expect(/^interrupted: /m.test(report)).toBe(result.interrupted);
}
