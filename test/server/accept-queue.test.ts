import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { canTakeWholeAcceptQueue, acceptWaiting } from '../../src/server/accept-queue.js';
import { eventually } from '../support/eventually.js';

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/**
 * Connects `count` clients to `port` from a child process while this process's event loop is
 * stopped (spawnSync), so every connection is complete and waiting in the kernel's accept
 * queue before this loop sees the listener. Each client sends its number and FIN, then the
 * child exits.
 */
function queueConnections(port: number, count: number): void {
  const program = `
    const net = require('node:net');
    let open = ${count};
    for (let i = 0; i < ${count}; i++) {
      const socket = net.connect(${port}, '127.0.0.1', () => socket.end(String(i).padStart(4, '0')));
      socket.on('finish', () => { if (--open === 0) process.exit(0); });
    }`;
  const result = spawnSync(process.execPath, ['-e', program], { timeout: 20_000 });
  if (result.status !== 0) throw new Error(`clients failed: ${result.stderr}`);
}

describe('taking the whole accept queue', () => {
  it('is available: npm run build compiled the native helper', () => {
    expect(canTakeWholeAcceptQueue).toBe(true);
  });

  it('takes every connection waiting in the kernel queue in the turn libuv hands over the first', async () => {
    const server = net.createServer({ allowHalfOpen: true });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 511 }, resolve));
    let first = true;
    let taken = -1;
    const received = new Map<net.Socket, string>();
    const take = (socket: net.Socket) => {
      sockets.push(socket);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => received.set(socket, text));
    };
    server.on('connection', (socket) => {
      take(socket);
      if (!first) return;
      first = false;
      taken = acceptWaiting(server, take);
    });
    queueConnections((server.address() as net.AddressInfo).port, 200);
    await eventually(() => received.size === 200, 'all 200 clients to be read to the end');
    // libuv accepted one; the helper took the other 199 at once, in the same callback.
    expect(taken).toBe(199);
    // Sockets made from the descriptors work like accepted ones: every client's bytes arrived.
    expect([...received.values()].sort()).toEqual(Array.from({ length: 200 }, (_, i) => String(i).padStart(4, '0')));
    expect(sockets.every((socket) => socket.remotePort! > 0 && socket.remoteAddress === '127.0.0.1')).toBe(true);
  });

  it('takes nothing and does not fail on a closed listener', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(acceptWaiting(server, () => {})).toBe(0);
  });
});
