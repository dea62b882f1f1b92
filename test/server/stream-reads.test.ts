/**
 * Without the native socket helper (no C compiler at build time, or ECHO_NATIVE_SOCKETS=0) the
 * server reads through Node's streams: the same guarantees must hold. The switch is read when
 * the server's modules load, so this file sets it before importing them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EchoServer } from '../../src/server/index.js';
import { closed, connect, echoOnce, expectedEcho, readBytes } from '../helpers/clients.js';
import { eventually } from '../support/eventually.js';

let server: EchoServer;

beforeAll(async () => {
  process.env.ECHO_NATIVE_SOCKETS = '0';
  const { startEchoServer } = await import('../../src/server/index.js');
  server = await startEchoServer({ host: '127.0.0.1', port: 0, shutdownTimeoutMs: 0, idleTimeoutMs: 2000 });
});

afterAll(async () => {
  await server.shutdown();
  delete process.env.ECHO_NATIVE_SOCKETS;
});

describe("the server reading through Node's streams", () => {
  it('says so', () => {
    expect(server.ownsSockets).toBe(false);
  });

  it('echoes every byte exactly, then closes after the half-close', async () => {
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff; // every byte value
    const reply = await echoOnce(server.port, payload);
    expect(reply.equals(expectedEcho(payload))).toBe(true);
  });

  it('answers one message at a time, and closes a connection left idle', async () => {
    const socket = await connect(server.port);
    const reply = readBytes(socket, 5);
    socket.write('hello');
    expect((await reply).toString()).toBe('HELLO');
    expect(await closed(socket, 10_000)).toBe(true);
    await eventually(() => server.stats.connectionsClosed.idle === 1, 'the idle close to be counted');
  });
});
