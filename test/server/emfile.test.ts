import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, echoOnce, waitFor } from '../helpers/clients.js';
import { startServerProcess } from '../helpers/server-process.js';

const CLIENTS = 150;

describe('descriptor exhaustion', () => {
  it('survives EMFILE under a low ulimit -n and serves again once descriptors free up', async () => {
    const server = await startServerProcess([], { shellPrefix: 'ulimit -n 64' });
    // Far more clients than the server has descriptors for. While it is out of descriptors,
    // libuv accepts each extra connection with a reserve descriptor and closes it at once.
    const sockets: net.Socket[] = await Promise.all(Array.from({ length: CLIENTS }, () => connect(server.port)));
    let closedByServer = 0;
    for (const socket of sockets) {
      socket.on('error', () => {});
      socket.once('close', () => closedByServer++);
      socket.resume();
    }
    expect(await waitFor(() => closedByServer > 0)).toBe(true);
    // Those it holds it still serves.
    const held = sockets.find((s) => !s.closed && !s.readableEnded)!;
    const reply = new Promise<string>((resolve) => held.once('data', (d: Buffer) => resolve(d.toString())));
    held.write('held');
    expect(await reply).toBe('HELD');
    const closedEarly = closedByServer;

    for (const socket of sockets) socket.destroy();
    // Serving again: a fresh client gets its echo once the old descriptors are closed.
    let answer = '';
    const servedAgain = await waitFor(() => {
      void echoOnce(server.port, Buffer.from('back again')).then((b) => (answer = b.toString()), () => {});
      return answer === 'BACK AGAIN';
    }, 15_000);
    expect(servedAgain).toBe(true);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const done = server.logs.find((l) => l.msg === 'shutdown done')!;
    // Every connection was either held and served, or closed while descriptors ran out.
    const accepted = done.accepted as number;
    expect(accepted).toBeLessThan(CLIENTS + 5);
    expect(closedEarly).toBeGreaterThanOrEqual(CLIENTS - (accepted - 1));
  });
});
