import { describe, expect, it } from 'vitest';
import { closed, connect, expectedEcho, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';

async function roundTrip(socket: import('node:net').Socket, text: string): Promise<string> {
  const reply = readBytes(socket, text.length);
  socket.write(text);
  return (await reply).toString();
}

describe('limits', () => {
  it('closes connections past --max-connections at once and counts them, serving the others', async () => {
    const { server } = await startServer({ maxConnections: 3 });
    const kept = await Promise.all([1, 2, 3].map(() => connect(server.port)));
    for (const socket of kept) expect(await roundTrip(socket, 'before')).toBe('BEFORE');

    const extra = await connect(server.port);
    extra.on('error', () => {});
    extra.write('hello?');
    const reply = await readBytes(extra, 6, 5000);
    expect(reply.length).toBe(0); // closed without an echo
    expect(await closed(extra)).toBe(true);
    expect(server.stats.connectionsRejected).toBe(1);
    expect(server.stats.connectionsAccepted).toBe(3);

    for (const socket of kept) expect(await roundTrip(socket, 'still here')).toBe('STILL HERE');
    // A freed slot is usable again.
    kept[0]!.destroy();
    await eventually(() => server.stats.connectionsActive === 2, 'the slot to be freed');
    const next = await connect(server.port);
    expect(await roundTrip(next, 'next')).toBe('NEXT');
    for (const socket of [...kept, next]) socket.destroy();
  });

  it('closes a connection that stays idle past --idle-timeout, not a busy one', async () => {
    const { server } = await startServer({ idleTimeoutMs: 1000 });
    const idle = await connect(server.port);
    const busy = await connect(server.port);
    // The busy client talks every 100 ms, ten times more often than the timeout asks.
    const started = Date.now();
    while (!idle.closed && Date.now() - started < 10_000) {
      expect(await roundTrip(busy, 'ping')).toBe('PING');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(idle.closed).toBe(true);
    expect(busy.closed).toBe(false);
    await eventually(() => server.stats.connectionsClosed.idle === 1, 'the idle close to be counted');
    const payload = Buffer.from('last words');
    expect((await readBytesAfterWrite(busy, payload)).equals(expectedEcho(payload))).toBe(true);
    busy.destroy();
  });

  it('closes an idle client that stopped reading, though its echo can never drain', async () => {
    const { server } = await startServer({ idleTimeoutMs: 300 });
    const socket = await connect(server.port);
    socket.on('error', () => {});
    socket.pause(); // never reads
    // Fill both directions until the server's task waits in send for a drain that never comes.
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 256 && server.stats.backpressurePauses === 0; i++) {
      if (!socket.write(chunk)) await new Promise((r) => setTimeout(r, 20));
    }
    expect(server.stats.backpressurePauses).toBeGreaterThan(0);
    // Idle from here on: the server must let go within the timeout plus its close deadline.
    await eventually(() => server.stats.connectionsClosed.idle === 1, 'the idle close to be counted');
    expect(server.stats.connectionsActive).toBe(0);
    socket.destroy();
  });
});

async function readBytesAfterWrite(socket: import('node:net').Socket, payload: Buffer): Promise<Buffer> {
  const reply = readBytes(socket, payload.length);
  socket.write(payload);
  return reply;
}
