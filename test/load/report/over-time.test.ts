import { describe, expect, it } from 'vitest';
import { formatReport } from '../../../load/report/report.js';
import { noFailures } from '../../../load/result/failure-kind.js';
import { sumIntervals, type IntervalResult, type IntervalWindow } from '../../../load/result/intervals.js';
import { describeRates, type LoadResult } from '../../../load/result/result.js';
import { createLatencyHistogram, encodeHistogram } from '../../../load/worker/histogram.js';

const START = 1_800_000_000_000;

/** An interval of `messages` echoes, each taking `micros`, `open` connections at its end. */
function interval(i: number, messages: number, micros: number, open: number, window: IntervalWindow = 'inside'): IntervalResult {
  const latency = createLatencyHistogram();
  if (messages > 0) latency.recordValueWithCount(micros, messages);
  const failures = noFailures();
  if (i === 2) failures.reset = 1;
  const counts = { open, connects: 0, closes: 0, disrupted: 0, reconnects: 0, messages, bytes: messages * 64, firstEchoes: 0 };
  return sumIntervals([{ start: START + i * 1000, duration: 1, window, ...counts, failures, histograms: { latency: encodeHistogram(latency) } }]);
}

function result(intervals: IntervalResult[]): LoadResult {
  const none = { average: 0, mean: 0, stddev: 0, min: 0, max: 0, totalCount: 0 };
  return {
    host: '127.0.0.1', address: '127.0.0.1', port: 8090, connections: 10, connected: 10, held: 10, workers: 1, pipelining: 1, rate: 0, size: 64,
    tls: false, proxyProtocol: 'off', duration: 5, samples: 5, sampleInt: 1000, start: '', finish: '', errors: 0, refused: 0, handshakeFailures: 0,
    resets: 0, timeouts: 0, mismatches: 0, portsExhausted: 0, interrupted: false, latency: none, connect: none, firstEcho: none,
    requests: { ...describeRates([], 0, 5), total: 0, sent: 0 }, throughput: { ...describeRates([], 0, 5), total: 0 }, failures: {},
    expectHeld: 10, closed: 0, disrupted: 0, reconnects: 0, unechoedBytes: 0, idle: { connections: 0, held: 0 }, arrivalRate: 0, reconnecting: false,
    targets: [], series: { messages: [], bytes: [] }, thresholds: [], histograms: { latency: '', connect: '', firstEcho: '' },
    intervalMs: 1000, intervals,
  };
}

/** The over-time table's body rows, as cells. */
function rows(text: string): string[][] {
  const lines = text.split('\n');
  const from = lines.findIndex((line) => line.startsWith('Over time'));
  const body: string[][] = [];
  for (const line of lines.slice(from + 4)) {
    if (!line.startsWith('│')) break;
    body.push(line.split('│').slice(1, -1).map((cell) => cell.trim()));
  }
  return body;
}

describe("the report's over-time view", () => {
  const ramp = [interval(0, 100, 1000, 2, 'before'), interval(1, 400, 2000, 6, 'partial'), interval(2, 800, 3000, 10), interval(3, 0, 0, 0), interval(4, 800, 4000, 10)];

  it('shows, per interval, the window, connections open, msg/s with a bar, p99 and errors: a ramp and a disruption at a glance', () => {
    const body = rows(formatReport(result(ramp), true));
    expect(body.map((row) => row.slice(0, 6))).toEqual([
      ['0 s', 'before', '2', '100', '1.00 ms', '0'],
      ['1 s', 'partial', '6', '400', '2.00 ms', '0'],
      ['2 s', 'inside', '10', '800', '3.00 ms', '1'],
      ['3 s', 'inside', '0', '0', '-', '0'],
      ['4 s', 'inside', '10', '800', '4.00 ms', '0'],
    ]);
    expect(body.map((row) => row[6]!.length)).toEqual([3, 10, 20, 0, 20]);
  });

  it('under --reconnect, says in which interval connections were disrupted and reconnected', () => {
    const restart = ramp.map((row, i) => ({ ...row, disrupted: i === 2 ? 7 : 0, reconnects: i === 3 ? 5 : i === 4 ? 2 : 0 }));
    const text = formatReport({ ...result(restart), reconnecting: true, disrupted: 7, reconnects: 7 }, true);
    expect(text).toMatch(/│ Time +│ Window +│ Open +│ Msg\/s +│ p99 +│ Errors +│ Disrupted +│ Reconnects +│/);
    expect(rows(text).map((row) => row.slice(6, 8))).toEqual([['0', '0'], ['0', '0'], ['7', '0'], ['0', '5'], ['0', '2']]);
    expect(formatReport(result(restart), true)).not.toContain('Disrupted │');
  });

  it('is left out unless asked for, and when there is a single interval', () => {
    expect(formatReport(result(ramp))).not.toContain('Over time');
    expect(formatReport(result(ramp.slice(0, 1)), true)).not.toContain('Over time');
  });

  it('joins the intervals of a long run, several to a row, so that it stays a screenful', () => {
    const long = Array.from({ length: 45 }, (_, i) => interval(i, 100 * (i + 1), 1000 * (i + 1), i));
    const text = formatReport(result(long), true);
    expect(text).toContain('Over time (1 s intervals, 3 to a row;');
    const body = rows(text);
    expect(body).toHaveLength(15);
    // Rows of 3 intervals: msg/s over their 3 s, open at the last one's end, p99 of the three together.
    expect(body[0]!.slice(0, 5)).toEqual(['0-3 s', 'inside', '2', '200', '3.00 ms']);
    expect(body[14]!.slice(0, 5)).toEqual(['42-45 s', 'inside', '44', '4,400', '45.02 ms']);
  });
});
