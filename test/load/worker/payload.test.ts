import { describe, expect, it } from 'vitest';
import { buildPayloads, READ_BUFFER_SIZE, upperAscii } from '../../../load/worker/payload.js';
import { startServer } from '../../support/server.js';
import { runLoadJson } from '../support/cli.js';
import { startFakeServer } from '../support/servers.js';

describe('payloads', () => {
  it('upper-cases ASCII letters only, like bytes.upper()', () => {
    const input = Buffer.from([0x61, 0x7a, 0x41, 0x60, 0x7b, 0x00, 0xff, ...Buffer.from('é')]);
    expect([...upperAscii(input)]).toEqual([0x41, 0x5a, 0x41, 0x60, 0x7b, 0x00, 0xff, ...Buffer.from('é')]);
  });

  it('expects the upper-cased message over and over, enough for any read at any offset', () => {
    const { message, burst, expected } = buildPayloads(Buffer.from('abc'), 4);
    expect(message.toString()).toBe('abc');
    expect(burst.toString()).toBe('abcabcabcabc');
    expect(expected.length).toBeGreaterThanOrEqual(3 + READ_BUFFER_SIZE);
    expect(expected.length % 3).toBe(0);
    expect(expected.subarray(0, 9).toString()).toBe('ABCABCABC');
    expect(expected.subarray(expected.length - 3).toString()).toBe('ABC');
  });
});

describe('echo-load --payload, end to end', () => {
  const PAYLOAD = 'grüße ✓';
  const bytes = Buffer.from(PAYLOAD);

  it('sends exactly the text given, and checks its echo byte for byte against the real server', async () => {
    const received: Buffer[] = [];
    const capture = await startFakeServer((socket, chunk) => {
      received.push(Buffer.from(chunk));
      socket.write(upperAscii(chunk));
    });
    const sent = await runLoadJson(['--port', String(capture.port), '--clients', '2', '--messages', '20', '--payload', PAYLOAD]);
    expect([sent.code, sent.result.errors, sent.result.requests.total]).toEqual([0, 0, 20]);
    expect(Buffer.concat(received)).toEqual(Buffer.concat(Array.from({ length: 20 }, () => bytes)));

    const { port } = await startServer();
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '3', '--messages', '300', '--payload', PAYLOAD]);
    expect([code, result.errors, result.requests.total]).toEqual([0, 0, 300]);
    expect(result.size).toBe(bytes.length); // 12 bytes for 7 characters
    expect(result.throughput.total).toBe(300 * bytes.length);
  });

  it('counts a server that upper-cases more than ASCII as a mismatch, at the first byte that differs', async () => {
    // JavaScript's toUpperCase turns ü (c3 bc) into Ü (c3 9c), and ß into SS.
    const { port } = await startFakeServer((socket, chunk) => socket.write(Buffer.from(chunk.toString('utf8').toUpperCase())));
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', '2', '--messages', '20', '--payload', PAYLOAD]);
    expect(code).toBe(1);
    expect(result.mismatches).toBe(2);
    expect(result.failures.mismatch).toMatch(/^connection [01], byte 3: expected 0xbc, got 0x9c$/);
  });
});
