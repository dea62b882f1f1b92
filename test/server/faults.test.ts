import { describe, expect, it } from 'vitest';
import { connect, echoOnce, waitFor } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';

describe('faults', () => {
  it('a reset with data in flight ends that one connection, counted, and the server serves on', async () => {
    const server = await startTestServer();
    const payload = Buffer.alloc(256 * 1024, 'reset me ');
    const rounds = 30;
    for (let i = 0; i < rounds; i++) {
      const socket = await connect(server.port);
      socket.on('error', () => {});
      socket.write(payload);
      // Wait until the server is echoing, then reset with its replies unread.
      const before = server.stats.bytesReceived;
      expect(await waitFor(() => server.stats.bytesReceived > before)).toBe(true);
      socket.resetAndDestroy();
    }
    expect(await waitFor(() => server.stats.connectionsActive === 0)).toBe(true);
    const { client, error } = server.stats.connectionsClosed;
    expect(client + error).toBe(rounds);
    expect(error).toBeGreaterThan(0);
    // Still serving.
    expect((await echoOnce(server.port, Buffer.from('alive?'))).toString()).toBe('ALIVE?');
  });

  it('clients that vanish mid-write (EPIPE on the server side) do not disturb others', async () => {
    const server = await startTestServer();
    const steady = await connect(server.port);
    const sockets = await Promise.all(Array.from({ length: 50 }, () => connect(server.port)));
    for (const socket of sockets) {
      socket.on('error', () => {});
      socket.write(Buffer.alloc(64 * 1024, 'x'));
      socket.destroy();
    }
    expect(await waitFor(() => server.stats.connectionsActive === 1)).toBe(true);
    const reply = new Promise<string>((resolve) => steady.once('data', (d: Buffer) => resolve(d.toString())));
    steady.write('steady');
    expect(await reply).toBe('STEADY');
    steady.destroy();
  });
});
