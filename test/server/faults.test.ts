import { describe, expect, it } from 'vitest';
import { connect, echoOnce } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';

describe('faults', () => {
  it('a reset with data in flight ends that one connection, counted as an error, and the server serves on', async () => {
    const { server, port } = await startServer();
    const payload = Buffer.alloc(256 * 1024, 'reset me ');
    const rounds = 30;
    for (let i = 0; i < rounds; i++) {
      const socket = await connect(port);
      socket.on('error', () => {});
      socket.write(payload);
      // Wait until the server is echoing, then reset with its replies unread.
      const before = server.stats.bytesReceived;
      await eventually(() => server.stats.bytesReceived > before, 'the server to read from it');
      socket.resetAndDestroy();
    }
    await eventually(() => server.stats.connectionsActive === 0, 'every connection to close');
    // Each reset reached the server as ECONNRESET: an error, never a client's normal close.
    expect(server.stats.connectionsClosed).toEqual({ client: 0, idle: 0, error: rounds, shutdown: 0, setup: 0 });
    // Still serving.
    expect((await echoOnce(port, Buffer.from('alive?'))).toString()).toBe('ALIVE?');
    expect(server.stats.connectionsClosed.client).toBe(1);
  });

  it('clients that vanish while the server writes to them (EPIPE) each end as an error, and disturb no one else', async () => {
    const { server, port } = await startServer();
    const steady = await connect(port);
    const vanishing = 20;
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < vanishing; i++) {
      const socket = await connect(port);
      socket.on('error', () => {});
      socket.pause(); // never reads its echoes
      // Send until this connection's task waits in send for a client that does not read...
      const pauses = server.stats.backpressurePauses;
      const waiting = () => server.stats.backpressurePauses > pauses;
      for (let sent = 0; !waiting() && sent < 64; sent++) {
        socket.write(chunk);
        await eventually(() => waiting() || !socket.writableNeedDrain, 'the server to read or to wait in send');
      }
      await eventually(waiting, 'the server to wait in send');
      // ...then vanish with its echoes unread: the kernel answers the server's writes with a
      // reset, and the write in progress fails (EPIPE or ECONNRESET).
      socket.destroy();
    }
    await eventually(() => server.stats.connectionsActive === 1, 'all but the steady client to close');
    expect(server.stats.connectionsClosed).toEqual({ client: 0, idle: 0, error: vanishing, shutdown: 0, setup: 0 });
    const reply = new Promise<string>((resolve) => steady.once('data', (d: Buffer) => resolve(d.toString())));
    steady.write('steady');
    expect(await reply).toBe('STEADY');
    steady.destroy();
  });
});
