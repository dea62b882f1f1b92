import { describe, expect, it } from 'vitest';
import { closed, connect, expectedEcho, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';

describe('half-close', () => {
  it('echoes everything sent before FIN, then closes', async () => {
    const { server } = await startServer();
    const socket = await connect(server.port);
    const payload = Buffer.alloc(300_000, 'half-closed stream ');
    const reply = readBytes(socket, Infinity);
    socket.end(payload); // write, then FIN: the server must still echo all of it
    const bytes = await reply;
    expect(bytes.length).toBe(payload.length);
    expect(bytes.equals(expectedEcho(payload))).toBe(true);
    expect(await closed(socket)).toBe(true);
    await eventually(() => server.stats.connectionsClosed.client === 1, 'the close to be counted');
    expect(server.stats.connectionsActive).toBe(0);
  });
});
