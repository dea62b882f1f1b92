import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../load/result/result.js';
import { startServerProcess } from '../support/server-process.js';
import { acceptQueueLength } from './support/accept-queue.js';
import { LoadProcess, runLoadJson } from './support/cli.js';
import { firstChunkOnlyEcho, startFakeServer, startLateReadingServer } from './support/servers.js';
import { startServer } from '../support/server.js';

/** How long the servers below keep a new connection waiting before they serve it. */
const DELAY_MS = 1000;

function parseResult(stdout: string): LoadResult {
  return JSON.parse(stdout) as LoadResult;
}

describe('echo-load times connection set-up apart from echo latency', () => {
  it('puts the time a connection waits unaccepted in the accept queue in firstEcho, not in latency', async () => {
    const server = await startServerProcess();
    // A stopped server accepts nothing: the kernel completes the handshakes and queues them.
    server.child.kill('SIGSTOP');
    const load = new LoadProcess(['--json', '--port', String(server.port), '--clients', '20', '--messages', '400', '--log-level', 'info']);
    await load.waitFor((self) => self.stderr.includes('"msg":"connections settled"'));
    // Every connection is up on the client side (its first message sent) and none is accepted.
    expect(acceptQueueLength(server.port)).toBe(20);
    // The one sleep here is the delay being measured, not a wait for something to happen.
    await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
    server.child.kill('SIGCONT');
    const { code, stdout, stderr } = await load.finished;
    expect(code, stderr).toBe(0);
    const result = parseResult(stdout);
    expect([result.held, result.errors, result.requests.total]).toEqual([20, 0, 400]);
    expect(result.connect.totalCount).toBe(20);
    expect(result.firstEcho.totalCount).toBe(20);
    // Each connection was up before the wait began and got its first echo after it ended.
    expect(result.firstEcho.min).toBeGreaterThanOrEqual(DELAY_MS);
    // The other 380 echoes, served once accepted, are the echo latency (a generous bound).
    expect(result.latency.totalCount).toBe(380);
    expect(result.latency.max).toBeLessThan(DELAY_MS);
  });

  it('puts a server that starts reading late in firstEcho, not in latency', async () => {
    const { port } = await startLateReadingServer(DELAY_MS);
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '5', '--messages', '500']);
    expect(code).toBe(0);
    expect(result.connect.totalCount).toBe(5);
    expect(result.firstEcho.totalCount).toBe(5);
    expect(result.latency.totalCount).toBe(495);
    // Generous bounds: the client may see its connect a little after the server accepted.
    expect(result.firstEcho.min).toBeGreaterThanOrEqual(DELAY_MS / 2);
    expect(result.latency.max).toBeLessThan(DELAY_MS / 2);
  });

  it('keeps every message sent before the first echo out of latency, whatever the pipeline', async () => {
    const { port } = await startLateReadingServer(DELAY_MS);
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '4', '--messages', '800', '--pipeline', '8']);
    expect(code).toBe(0);
    expect(result.requests.total).toBe(800);
    // Each connection's first 8 messages waited for the server to read: the first is its
    // first echo, the other 7 are in neither histogram.
    expect(result.firstEcho.totalCount).toBe(4);
    expect(result.latency.totalCount).toBe(800 - 4 * 8);
    expect(result.latency.max).toBeLessThan(DELAY_MS / 2);
  });

  it('under --rate, counts the first echo from the first intended send and leaves it out of latency', async () => {
    const { port } = await startServer();
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '2', '--messages', '4', '--rate', '1']);
    expect(code).toBe(0);
    expect(result.firstEcho.totalCount).toBe(2);
    expect(result.latency.totalCount).toBe(2);
    // The second connection sends its first message half an interval (500 ms) after it
    // connects, on purpose, so that connections do not send in step. That phase is no delay of
    // the server's, and firstEcho leaves it out (a generous bound).
    expect(result.firstEcho.max).toBeLessThan(500);
  });

  it('counts connect and firstEcho over the whole run, warm-up included', async () => {
    const { port } = await startServer();
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '30', '--warmup', '300ms', '--duration', '500ms']);
    expect(code).toBe(0);
    expect(result.connect.totalCount).toBe(30);
    expect(result.firstEcho.totalCount).toBe(30);
    // Echo latency covers the measured window only, as the message count does (less any first
    // echo that came after the warm-up).
    expect(result.latency.totalCount).toBeGreaterThan(0);
    expect(result.latency.totalCount).toBeLessThanOrEqual(result.requests.total!);
    expect(result.latency.totalCount).toBeGreaterThanOrEqual(result.requests.total! - 30);
  });

  it('says that a connection never got its first echo, apart from a later echo that never came', async () => {
    const silent = await startServerProcess();
    silent.child.kill('SIGSTOP');
    const never = await runLoadJson(['--port', String(silent.port), '--clients', '3', '--duration', '5s', '--timeout', '300ms']);
    expect(never.code).toBe(1);
    expect(never.result.timeouts).toBe(3);
    expect(never.result.failures.timeout).toMatch(/^no first echo within 300 ms of connecting, connection [0-2] \(was it ever accepted\?\)$/);
    expect(never.result.connect.totalCount).toBe(3);
    expect(never.result.firstEcho.totalCount).toBe(0);

    const { port } = await startFakeServer(firstChunkOnlyEcho());
    const later = await runLoadJson(['--port', String(port), '--clients', '3', '--duration', '5s', '--timeout', '300ms']);
    expect(later.code).toBe(1);
    expect(later.result.timeouts).toBe(3);
    expect(later.result.failures.timeout).toMatch(/^no echo within 300 ms, connection [0-2]$/);
    expect(later.result.firstEcho.totalCount).toBe(3);
  });
});
