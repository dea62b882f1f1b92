import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { upperAscii } from '../../load/worker/payload.js';
import type { LoadResult } from '../../load/result/result.js';
import { LoadProcess, runLoadJson, runLoadWithJsonFile } from './support/cli.js';
import { expectReportOf } from './support/read-report.js';
import { startServer } from '../support/server.js';
import { startFakeServer, startMeasuringRelay } from './support/servers.js';

/** The keys of every latency-like object in the JSON, in order (autocannon's, plus `totalCount`). */
const TIMING_KEYS = [
  'average', 'mean', 'stddev', 'min', 'max',
  'p0_001', 'p0_01', 'p0_1', 'p1', 'p2_5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p97_5', 'p99', 'p99_9', 'p99_99', 'p99_999',
  'totalCount',
];

/** The keys of `requests` and `throughput`, in order: autocannon's. */
const RATE_KEYS = [
  'average', 'mean', 'stddev', 'min', 'max',
  'p0_001', 'p0_01', 'p0_1', 'p1', 'p2_5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p97_5', 'p99', 'p99_9', 'p99_99', 'p99_999',
  'total',
];

/** Every key of the JSON result, in order. */
const RESULT_KEYS = [
  'host', 'address', 'port', 'connections', 'connected', 'held', 'workers', 'pipelining', 'rate', 'size', 'tls', 'proxyProtocol',
  'duration', 'samples', 'sampleInt', 'start', 'finish', 'errors', 'refused', 'handshakeFailures', 'resets', 'timeouts', 'mismatches', 'portsExhausted',
  'interrupted', 'latency', 'connect', 'firstEcho', 'requests', 'throughput', 'failures',
  // echo-load's own, after autocannon's (test/load/merge/merge.test.ts and targets.test.ts use them).
  'expectHeld', 'closed', 'disrupted', 'reconnects', 'unechoedBytes', 'idle', 'arrivalRate', 'reconnecting',
  'targets', 'series', 'intervalMs', 'intervals', 'thresholds', 'histograms',
];

/** Every percentile is at least the one before it, and none exceeds the maximum. */
function expectOrderedLatency(latency: Record<string, number>) {
  const keys = ['min', 'p50', 'p90', 'p99', 'p99_9', 'max'];
  const values = keys.map((key) => latency[key]!);
  expect(values.every((value) => Number.isFinite(value))).toBe(true);
  expect(values).toEqual([...values].sort((a, b) => a - b));
}

describe('echo-load against the real echo server', () => {
  it('holds 500 connections for a few seconds with zero errors and sensible figures', async () => {
    const { port } = await startServer();
    const { code, result, stderr } = await runLoadJson(['--port', String(port), '--clients', '500', '--workers', '2', '--duration', '3s']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(result.connections).toBe(500);
    expect(result.connected).toBe(500);
    expect(result.held).toBe(500);
    expect([result.errors, result.refused, result.resets, result.timeouts, result.mismatches]).toEqual([0, 0, 0, 0, 0]);
    expect(result.duration).toBeGreaterThanOrEqual(3);
    expect(result.samples).toBeGreaterThanOrEqual(2);
    // Every connection got echoes (its first one at least: firstEcho below; that each one
    // carries traffic in the measured window is the next test); every echo was 64 bytes.
    expect(result.requests.total).toBeGreaterThan(500);
    expect(result.throughput.total).toBe(result.requests.total! * 64);
    // Echo latency is steady state: each connection's first echo (which may come after the
    // measured window began) is in firstEcho instead.
    expect(result.latency.totalCount).toBeLessThanOrEqual(result.requests.total!);
    expect(result.latency.totalCount).toBeGreaterThanOrEqual(result.requests.total! - 500);
    expect(result.connect.totalCount).toBe(500);
    expect(result.firstEcho.totalCount).toBe(500);
    // Sent = echoed + at most one in flight per connection when the run stopped.
    expect(result.requests.sent! - result.requests.total!).toBeGreaterThanOrEqual(0);
    expect(result.requests.sent! - result.requests.total!).toBeLessThanOrEqual(500);
    // The average is the exact rate: total over the measured time (which JSON rounds to 1 ms).
    expect(Math.abs(result.requests.average! * result.duration - result.requests.total!)).toBeLessThan(result.requests.average! * 0.001);
    expect(result.latency.min).toBeGreaterThan(0);
    expectOrderedLatency(result.latency);
    expectOrderedLatency(result.connect);
    expectOrderedLatency(result.firstEcho);
    expect(result.requests.min).toBeLessThanOrEqual(result.requests.max!);
  });

  it('drives every connection through the measured window, not a few busy ones', async () => {
    // An upper-casing server that counts what each connection sent: every connection's count
    // grows after the measured window has begun.
    const sent = new Map<net.Socket, number>();
    const { port } = await startFakeServer((socket, chunk) => {
      sent.set(socket, (sent.get(socket) ?? 0) + chunk.length);
      socket.write(upperAscii(chunk));
    });
    const clients = 200;
    const load = new LoadProcess(['--json', '--port', String(port), '--clients', String(clients), '--warmup', '500ms', '--duration', '2s', '--log-level', 'info']);
    await load.waitFor((self) => self.stderr.includes('"msg":"measuring"'));
    const before = new Map(sent);
    const { code, stdout } = await load.finished;
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as LoadResult;
    expect(result.held).toBe(clients);
    // (On a loaded machine a few connections may not have reached this server's loop by the
    // time the window began: they count from 0.)
    expect(sent.size).toBe(clients);
    const grew = [...sent].filter(([socket, bytes]) => bytes > (before.get(socket) ?? 0));
    expect(grew).toHaveLength(clients);
  });

  it('prints JSON with every key autocannon has and the connection set-up beside latency', async () => {
    const { port } = await startServer();
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '3', '--messages', '30']);
    expect(code).toBe(0);
    expect(Object.keys(result)).toEqual(RESULT_KEYS);
    for (const timing of ['latency', 'connect', 'firstEcho'] as const) {
      expect(Object.keys(result[timing]), timing).toEqual(TIMING_KEYS);
      expect(Object.values(result[timing]).every((value) => typeof value === 'number' && Number.isFinite(value)), timing).toBe(true);
    }
    expect(Object.keys(result.requests)).toEqual([...RATE_KEYS, 'sent']);
    expect(Object.keys(result.throughput)).toEqual(RATE_KEYS);
    for (const rates of [result.requests, result.throughput]) {
      expect(Object.values(rates).every((value) => typeof value === 'number' && Number.isFinite(value))).toBe(true);
    }
    expect(result.failures).toEqual({});
    expect([result.connect.totalCount, result.firstEcho.totalCount, result.latency.totalCount]).toEqual([3, 3, 27]);
    // `handshake`, with the same keys, comes with --tls only (test/load/tls.test.ts).
    expect(result).toMatchObject({ tls: false, proxyProtocol: 'off', handshakeFailures: 0 });
  });

  it('sends exactly --messages messages in total, spread over the connections', async () => {
    const { port } = await startServer();
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '7', '--messages', '1000', '--size', '100']);
    expect(code).toBe(0);
    expect(result.requests.total).toBe(1000);
    expect(result.requests.sent).toBe(1000);
    // 7 connections: each one's first echo is in firstEcho, the other 993 in latency.
    expect(result.firstEcho.totalCount).toBe(7);
    expect(result.latency.totalCount).toBe(993);
    expect(result.connect.totalCount).toBe(7);
    expect(result.throughput.total).toBe(100_000);
    expect(result.held).toBe(7);
    expect(result.errors).toBe(0);
  });

  it('keeps one message in flight per connection without --pipeline', async () => {
    const { port } = await startServer();
    const relay = await startMeasuringRelay(port);
    const { code, result } = await runLoadJson(['--port', String(relay.port), '--clients', '4', '--messages', '400']);
    expect(code).toBe(0);
    expect(result.requests.total).toBe(400);
    expect(relay.maxOutstanding()).toBe(64);
  });

  it('pipelines up to --pipeline messages per connection, and no more', async () => {
    const { port } = await startServer();
    const relay = await startMeasuringRelay(port);
    const { code, result } = await runLoadJson(['--port', String(relay.port), '--clients', '4', '--messages', '4000', '--pipeline', '8']);
    expect(code).toBe(0);
    expect(result.requests.total).toBe(4000);
    expect(result.pipelining).toBe(8);
    expect(relay.maxOutstanding()).toBeGreaterThan(64);
    expect(relay.maxOutstanding()).toBeLessThanOrEqual(8 * 64);
  });

  it('sends at the asked --rate, never faster', async () => {
    const { port } = await startServer();
    // 2 connections x 20 messages at 20/s: the last message is due 19 intervals (0.95 s) after the first.
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '2', '--messages', '40', '--rate', '20']);
    expect(code).toBe(0);
    expect(result.rate).toBe(20);
    expect(result.requests.total).toBe(40);
    expect(result.duration).toBeGreaterThanOrEqual(0.95);
    expect(result.requests.average).toBeLessThanOrEqual(40 / 0.95);
    // Close to the asked 40 messages/s overall (loose: the machine is shared).
    expect(result.requests.average).toBeGreaterThan(20);
  });

  it('reaches a server on 127.0.0.1 through --host localhost, whatever localhost resolves to first', async () => {
    const { port } = await startServer();
    const { code, result } = await runLoadJson(['--host', 'localhost', '--port', String(port), '--clients', '3', '--messages', '30']);
    expect(result.errors).toBe(0);
    expect(code).toBe(0);
    expect(result.host).toBe('localhost');
    expect(result.address).toBe('127.0.0.1');
    expect(result.requests.total).toBe(30);
  });

  it('prints a human report whose every figure is the JSON result of the same run (--json-file)', async () => {
    const { port } = await startServer();
    const { code, stdout, result } = await runLoadWithJsonFile(['--port', String(port), '--clients', '25', '--messages', '5000', '--size', '32']);
    expect(code).toBe(0);
    expect([result.requests.total, result.throughput.total, result.held, result.errors]).toEqual([5000, 160_000, 25, 0]);
    expect([result.connect.totalCount, result.firstEcho.totalCount, result.latency.totalCount]).toEqual([25, 25, 4975]);
    expectReportOf(stdout, result);
    expect(stdout).toMatch(/^5,000 messages echoed in \d+\.\d\d s, 160 kB read: every byte as sent, upper-cased$/m);
  });

  it('writes the same JSON to --json-file as it prints with --json', async () => {
    const { port } = await startServer();
    const { code, stdout, result } = await runLoadWithJsonFile(['--json', '--port', String(port), '--clients', '3', '--messages', '30']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(result);
  });
});
