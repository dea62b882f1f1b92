import { describe, expect, it } from 'vitest';
import { runLoad, runLoadJson, runLoadWithJsonFile } from './support/cli.js';
import { expectReportOf } from './support/read-report.js';
import { closingEcho, corruptingEcho, doublingEcho, dribblingEcho, plainEcho, resettingEcho, startFakeServer, startIdleClosingServer, unusedPort } from './support/servers.js';

describe('echo-load against faulty servers', () => {
  it('counts an echo that is not upper-cased as a mismatch, once per connection', async () => {
    const { port } = await startFakeServer(plainEcho);
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '5', '--duration', '5s']);
    expect(code).toBe(1);
    expect(result.mismatches).toBe(5);
    expect(result.errors).toBe(5);
    expect(result.held).toBe(0);
    expect(result.requests.total).toBe(0);
    expect(result.failures.mismatch).toMatch(/byte 0: expected 0x41 'A', got 0x61 'a'/);
  });

  it('catches a server that corrupts a byte now and then, and says exactly where', async () => {
    // Each connection's byte 999 (counted from 0) comes back wrong: byte 39 of its 16th
    // 64-byte message, where 'n' was sent and 'N' is due (0x4e); 0x4f 'O' comes.
    const { port } = await startFakeServer(corruptingEcho(1000));
    const args = ['--port', String(port), '--clients', '4', '--messages', '2000'];
    const { code, result, stdout } = await runLoadWithJsonFile(args);
    expect(code).toBe(1);
    expect(result.mismatches).toBe(4);
    expect(result.errors).toBe(4);
    // Each connection echoed its first 15 messages and failed on the 16th, still in flight.
    expect(result.requests.total).toBe(60);
    expect(result.requests.sent).toBe(64);
    expect(result.throughput.total).toBe(60 * 64);
    expect(result.failures.mismatch).toMatch(/^connection [0-3], byte 999: expected 0x4e 'N', got 0x4f 'O'$/);
    // The report of the same run shows the JSON's figures, and where the byte was wrong.
    expectReportOf(stdout, result);
    expect(stdout).toMatch(/^60 messages echoed in \d+\.\d\d s, 3\.84 kB read: every byte as sent, upper-cased, but for the 4 mismatches below$/m);
    expect(stdout).toMatch(/^ {2}first mismatch: connection [0-3], byte 999: expected 0x4e 'N', got 0x4f 'O'$/m);
  });

  it('counts bytes the client never sent as a mismatch, even when they are the bytes due next', async () => {
    // Each echo comes twice in one read: the second copy is exactly what the next message's
    // echo would be, but that message has not been sent.
    const { port } = await startFakeServer(doublingEcho);
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '3', '--messages', '300']);
    expect(code).toBe(1);
    expect([result.mismatches, result.errors, result.held, result.requests.total]).toEqual([3, 3, 0, 0]);
    expect(result.failures.mismatch).toMatch(/^connection [0-2], byte 64: 64 bytes more than were sent$/);
  });

  it('counts a connection the server closes mid-run as a reset', async () => {
    // Each connection gets its first 10 echoes, then the server's FIN while its 11th message
    // waits for an echo.
    const { port } = await startFakeServer(closingEcho(640));
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '4', '--messages', '4000']);
    expect(code).toBe(1);
    expect([result.resets, result.errors, result.held, result.connected]).toEqual([4, 4, 0, 4]);
    expect(result.requests.total).toBe(40);
    expect(result.failures.reset).toMatch(/^closed by the server \(end of stream\), connection [0-3]$/);
  });

  it('reassembles echoes that arrive split and joined anywhere', async () => {
    const { port } = await startFakeServer(dribblingEcho());
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '3', '--messages', '300', '--size', '50', '--pipeline', '4']);
    expect(result.errors).toBe(0);
    expect(code).toBe(0);
    expect(result.requests.total).toBe(300);
    expect(result.throughput.total).toBe(15_000);
  });

  it('reports connections the server resets', async () => {
    const { port } = await startFakeServer(resettingEcho(640));
    const args = ['--port', String(port), '--clients', '6', '--duration', '10s'];
    const { code, result } = await runLoadJson(args);
    const { stdout } = await runLoad(args);
    expect(code).toBe(1);
    expect(result.resets).toBe(6);
    expect(result.errors).toBe(6);
    expect(result.held).toBe(0);
    expect(result.connected).toBe(6);
    expect(stdout).toMatch(/^6 errors: 0 refused, 6 resets, 0 timeouts, 0 mismatches$/m);
    expect(stdout).toMatch(/^0 of 6 connections held$/m);
  });

  it('does not count a connection the server closes after it has done its share of --messages', async () => {
    // 2 connections, 1 message: connection 1's share is 0, so it is done at once and idle; the
    // server closes it while connection 0 still waits for its echo.
    const { port } = await startIdleClosingServer(1, 1);
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '2', '--workers', '1', '--messages', '1']);
    expect(result.resets).toBe(0);
    expect(result.errors).toBe(0);
    expect(code).toBe(0);
    expect(result.requests.total).toBe(1);
    expect(result.held).toBe(2);
  });

  it('counts an echo that never comes as a timeout', async () => {
    const { port } = await startFakeServer(() => {});
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '3', '--duration', '10s', '--timeout', '300ms']);
    expect(code).toBe(1);
    expect(result.timeouts).toBe(3);
    expect(result.errors).toBe(3);
    // Nothing ever came back: the failure says it was the first echo, not a later one.
    expect(result.failures.timeout).toMatch(/^no first echo within 300 ms of connecting, connection \d \(was it ever accepted\?\)$/);
  });

  it('says in one line that nothing listens, without a stack trace', async () => {
    const port = await unusedPort();
    const { code, stdout, stderr } = await runLoad(['--port', String(port), '--clients', '3']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`echo-load: cannot connect to 127.0.0.1:${port}: connection refused (is the server running?)\n`);
  });
});
