import { describe, expect, it } from 'vitest';
import { closed, connect, expectedEcho, readBytes, waitFor } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';

describe('half-close', () => {
  it('echoes everything sent before FIN, then closes', async () => {
    const server = await startTestServer();
    const socket = await connect(server.port);
    const payload = Buffer.alloc(300_000, 'half-closed stream ');
    const reply = readBytes(socket, Infinity);
    socket.end(payload); // write, then FIN: the server must still echo all of it
    const bytes = await reply;
    expect(bytes.length).toBe(payload.length);
    expect(bytes.equals(expectedEcho(payload))).toBe(true);
    expect(await closed(socket)).toBe(true);
    expect(await waitFor(() => server.stats.connectionsClosed.client === 1)).toBe(true);
    expect(server.stats.connectionsActive).toBe(0);
  });
});
