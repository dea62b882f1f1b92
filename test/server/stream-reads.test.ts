/**
 * Without the native socket helper (no C compiler at build time, or ECHO_NATIVE_SOCKETS=0) the
 * server reads through Node's streams: the same guarantees must hold. The switch is read when
 * the server's modules load, so this file sets it before any import runs (`vi.hoisted`).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { closed, connect, echoOnce, expectedEcho, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';

vi.hoisted(() => {
  process.env.ECHO_NATIVE_SOCKETS = '0';
});

afterAll(() => {
  delete process.env.ECHO_NATIVE_SOCKETS;
});

describe("the server reading through Node's streams", () => {
  it('says so', async () => {
    const { server } = await startServer();
    expect(server.ownsSockets).toBe(false);
  });

  it('echoes every byte exactly, then closes after the half-close', async () => {
    const { port } = await startServer();
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff; // every byte value
    const reply = await echoOnce(port, payload);
    expect(reply.equals(expectedEcho(payload))).toBe(true);
  });

  it('answers one message at a time, and closes a connection left idle', async () => {
    const { server, port } = await startServer({ idleTimeoutMs: 2000 });
    const socket = await connect(port);
    const reply = readBytes(socket, 5);
    socket.write('hello');
    expect((await reply).toString()).toBe('HELLO');
    expect(await closed(socket, 10_000)).toBe(true);
    await eventually(() => server.stats.connectionsClosed.idle === 1, 'the idle close to be counted');
  });
});
