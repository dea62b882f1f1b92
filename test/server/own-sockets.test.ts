import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acceptWaiting, haveOwnSockets, msSinceDataSent, socketFromDescriptor, startOwnSockets, takeOver } from '../../src/server/own-sockets.js';
import { connect, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';

beforeAll(() => {
  startOwnSockets(); // what EchoServer.start does: the native helper, loaded
});

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

describe('the server\'s own sockets', () => {
  it('is available: npm run build compiled the native socket helper', () => {
    expect(haveOwnSockets).toBe(true);
  });

  it('takes every connection waiting in the kernel queue in the turn libuv hands over the first', async () => {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 511 }, resolve));
    // Each socket built from a descriptor reads into one shared buffer; the callback keeps a copy.
    const text = new Map<net.Socket, string>();
    const ended = new Set<net.Socket>();
    const reads = {
      buffer: Buffer.alloc(1024),
      callback(this: net.Socket, bytes: number, buffer: Uint8Array): boolean {
        text.set(this, (text.get(this) ?? '') + Buffer.from(buffer.subarray(0, bytes)).toString());
        return true;
      },
    };
    const own = (fd: number) => {
      const socket = socketFromDescriptor(fd, reads)!;
      sockets.push(socket);
      socket.on('end', () => ended.add(socket));
    };
    let taken = -1;
    server.on('connection', (socket) => {
      own(takeOver(socket)!);
      if (taken < 0) taken = acceptWaiting(server, own);
    });
    queueConnections((server.address() as net.AddressInfo).port, 200);
    await eventually(() => ended.size === 200, 'all 200 clients to be read to the end');
    // libuv accepted one; the helper took the other 199 at once, in the same callback.
    expect(taken).toBe(199);
    // Sockets built from the descriptors work like accepted ones: every client's bytes arrived.
    expect([...text.values()].sort()).toEqual(Array.from({ length: 200 }, (_, i) => String(i).padStart(4, '0')));
    expect(sockets.every((socket) => socket.remotePort! > 0 && socket.remoteAddress === '127.0.0.1')).toBe(true);
  });

  it('takes over a socket libuv accepted: the connection lives on after the original is destroyed', async () => {
    const server = net.createServer({ pauseOnConnect: true });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const taken = new Promise<{ original: net.Socket; own: net.Socket }>((resolve) =>
      server.once('connection', (original) => {
        const reads = {
          buffer: Buffer.alloc(64),
          callback(this: net.Socket, bytes: number, buffer: Uint8Array): boolean {
            this.write(Buffer.from(buffer.subarray(0, bytes)).toString().toUpperCase());
            return true;
          },
        };
        resolve({ original, own: socketFromDescriptor(takeOver(original)!, reads)! });
      }),
    );
    const client = await connect((server.address() as net.AddressInfo).port);
    sockets.push(client);
    const { original, own } = await taken;
    sockets.push(own);
    await eventually(() => original.closed, 'the original socket to close');
    const reply = readBytes(client, 5);
    client.write('hello');
    expect((await reply).toString()).toBe('HELLO');
  });

  it('takes nothing and does not fail on a closed listener', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(acceptWaiting(server, () => {})).toBe(0);
  });

  it('tells how long ago the kernel last sent a socket data: growing while it sends nothing, back to about 0 after a write', async () => {
    const server = net.createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = await connect((server.address() as net.AddressInfo).port);
    sockets.push(client);
    const own = await accepted;
    sockets.push(own);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = msSinceDataSent(own)!;
    expect(before).toBeGreaterThanOrEqual(200 - 10); // the kernel counts in jiffies (HZ 100 at least)
    const reply = readBytes(client, 4);
    own.write('data');
    expect((await reply).toString()).toBe('data');
    const after = msSinceDataSent(own)!;
    expect(after).toBeLessThan(before);
    // A socket without a descriptor has nothing to ask about.
    expect(msSinceDataSent(new net.Socket())).toBeUndefined();
  });
});
