import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, expectedEcho } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess } from '../support/server-process.js';

/** A client that streams bytes until the server ends the connection, keeping all it got back. */
function streamingClient(socket: net.Socket, chunkSize: number) {
  const sent: Buffer[] = [];
  const received: Buffer[] = [];
  let serial = 0;
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const timer = setInterval(() => {
    if (socket.writableEnded || socket.destroyed) return;
    const chunk = Buffer.alloc(chunkSize, `stream ${serial++} abc `);
    sent.push(chunk);
    socket.write(chunk);
  }, 5);
  const ended = new Promise<void>((resolve) => {
    socket.once('end', () => {
      clearInterval(timer);
      socket.end();
      resolve();
    });
    socket.once('close', () => {
      clearInterval(timer);
      resolve();
    });
  });
  const stopAfter = setTimeout(() => clearInterval(timer), 20_000); // bounded whatever happens
  stopAfter.unref();
  return { sent, received, ended };
}

/** The server's two ways of reading: its own sockets, and Node's streams (without the native helper). */
const READ_PATHS = [
  { reads: 'its own sockets', env: {} },
  { reads: "Node's stream reads (ECHO_NATIVE_SOCKETS=0)", env: { ECHO_NATIVE_SOCKETS: '0' } },
];

describe('graceful shutdown', () => {
  it.each(READ_PATHS)('on SIGTERM refuses new clients, echoes every byte already read, and exits 0, reading with $reads', async ({ env }) => {
    const server = await startServerProcess(['--shutdown-timeout', '1s'], { env });
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => streamingClient(await connect(server.port), 8 * 1024)),
    );
    await eventually(() => clients.every((c) => c.received.length > 3), 'every client to get echoes');

    server.child.kill('SIGTERM');
    await eventually(() => server.logs.some((l) => l.msg === 'shutdown begun'), 'shutdown to begin');
    await expect(connect(server.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await Promise.all(clients.map((c) => c.ended));
    expect(await server.exited).toBe(0);

    const done = server.logs.find((l) => l.msg === 'shutdown done')!;
    expect(done).toBeDefined();
    expect(done.ended).toBe(20); // still streaming when the timeout ran out
    expect(done.bytesSent).toBe(done.bytesReceived);
    let receivedTotal = 0;
    for (const client of clients) {
      const sent = Buffer.concat(client.sent);
      const received = Buffer.concat(client.received);
      receivedTotal += received.length;
      // What came back is exactly the upper-cased beginning of what was sent.
      expect(received.equals(expectedEcho(sent.subarray(0, received.length)))).toBe(true);
    }
    expect(receivedTotal).toBe(done.bytesSent);
  });

  it('lets idle clients go at once and exits promptly when all have left', async () => {
    const server = await startServerProcess(['--shutdown-timeout', '30s']);
    const socket = await connect(server.port);
    socket.on('error', () => {});
    server.child.kill('SIGTERM');
    await eventually(() => server.logs.some((l) => l.msg === 'shutdown begun'), 'shutdown to begin');
    socket.end(); // the client leaves: shutdown need not wait for the timeout
    expect(await server.exited).toBe(0);
    const done = server.logs.find((l) => l.msg === 'shutdown done')!;
    expect(done.ended).toBe(0);
  });

  it('a second SIGINT exits at once with 130', async () => {
    const server = await startServerProcess(['--shutdown-timeout', '60s']);
    const socket = await connect(server.port);
    socket.on('error', () => {});
    server.child.kill('SIGINT');
    await eventually(() => server.logs.some((l) => l.msg === 'shutdown begun'), 'shutdown to begin');
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(130);
    socket.destroy();
  });
});
