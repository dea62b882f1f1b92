import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../load/result/result.js';
import { LoadProcess } from './support/cli.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upperAscii } from '../../load/worker/payload.js';
import { startServer } from '../support/server.js';
import { expectReportOf } from './support/read-report.js';
import { startFakeServer } from './support/servers.js';

/** True once the debug log shows a measured second with traffic in it. */
function measuredTraffic(load: LoadProcess): boolean {
  return load.stderr.split('\n').some((line) => /"msg":"sample"/.test(line) && /"measuring":true/.test(line) && !/"messagesPerSecond":0[,}]/.test(line));
}

describe('echo-load and SIGINT', () => {
  it('stops on SIGINT, prints what was measured and exits 130', async () => {
    const { port } = await startServer();
    const load = new LoadProcess(['--port', String(port), '--clients', '20', '--duration', '60s', '--json', '--log-level', 'debug']);
    await load.waitFor(measuredTraffic);
    load.child.kill('SIGINT');
    const { code, stdout } = await load.finished;
    expect(code).toBe(130);
    const result = JSON.parse(stdout) as LoadResult;
    expect(result.interrupted).toBe(true);
    // Stopping is not a failure of the server: every connection was still held.
    expect([result.connections, result.connected, result.held, result.errors]).toEqual([20, 20, 20, 0]);
    // What was measured until the stop, and only that: at least the second the log showed,
    // every echo 64 checked bytes, at most one message per connection left in flight.
    expect(result.samples).toBeGreaterThanOrEqual(1);
    expect(result.duration).toBeGreaterThanOrEqual(1);
    expect(result.duration).toBeLessThan(60);
    expect(result.requests.total).toBeGreaterThan(0);
    expect(result.throughput.total).toBe(result.requests.total! * 64);
    expect(result.requests.sent! - result.requests.total!).toBeGreaterThanOrEqual(0);
    expect(result.requests.sent! - result.requests.total!).toBeLessThanOrEqual(20);
    expect(result.latency.totalCount).toBeLessThanOrEqual(result.requests.total!);
    expect(result.latency.totalCount).toBeGreaterThanOrEqual(result.requests.total! - 20);
  });

  it('says so in the human report, with the figures of the JSON', async () => {
    const { port } = await startServer();
    const dir = mkdtempSync(join(tmpdir(), 'echo-load-'));
    const file = join(dir, 'result.json');
    const load = new LoadProcess(['--json-file', file, '--port', String(port), '--clients', '5', '--duration', '60s', '--log-level', 'debug']);
    await load.waitFor(measuredTraffic);
    load.child.kill('SIGINT');
    const { code, stdout } = await load.finished;
    const result = JSON.parse(readFileSync(file, 'utf8')) as LoadResult;
    rmSync(dir, { recursive: true });
    expect(code).toBe(130);
    expect(stdout).toMatch(/^interrupted: the figures cover the \d+\.\d\d s measured before the stop$/m);
    expect(stdout).toMatch(/^5 of 5 connections held$/m);
    expectReportOf(stdout, result);
  });

  it('exits at once on a second SIGINT, without waiting for the stop to finish', async () => {
    // A server that never closes its side: after the first SIGINT echo-load ends each
    // connection and gives the server a second to close it before it reports.
    const { port } = await startFakeServer((socket, chunk) => socket.write(upperAscii(chunk)), { allowHalfOpen: true });
    const load = new LoadProcess(['--port', String(port), '--clients', '5', '--duration', '60s', '--log-level', 'debug']);
    await load.waitFor(measuredTraffic);
    load.child.kill('SIGINT');
    // One signal at a time: two sent together may reach the process as one.
    await load.waitFor((self) => self.stderr.includes('"msg":"SIGINT: stopping"'));
    load.child.kill('SIGINT');
    const { code, stdout } = await load.finished;
    expect(code).toBe(130);
    // No report: it left before the stop it had begun could finish (that takes a second
    // here, and ends with the report).
    expect(stdout).toBe('');
  });
});
