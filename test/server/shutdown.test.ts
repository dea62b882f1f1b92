import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLOSE_DEADLINE_MS } from '../../src/server/connection.js';
import { scrape } from '../metrics/scrape.js';
import { connect, expectedEcho } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

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

/** The server's log line with message `msg` (the first, if several). */
function line(server: ServerProcess, msg: string): Record<string, unknown> {
  const found = server.logs.find((l) => l.msg === msg);
  expect(found, msg).toBeDefined();
  return found!;
}

describe('graceful shutdown', () => {
  it.each([
    { signal: 'SIGTERM', ...READ_PATHS[0]! },
    { signal: 'SIGTERM', ...READ_PATHS[1]! },
    { signal: 'SIGINT', ...READ_PATHS[0]! },
  ] as const)('on $signal refuses new clients, echoes every byte already read, and exits 0, reading with $reads', async ({ signal, env }) => {
    const server = await startServerProcess(['--shutdown-timeout', '1s'], { env });
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => streamingClient(await connect(server.port), 8 * 1024)),
    );
    await eventually(() => clients.every((c) => c.received.length > 3), 'every client to get echoes');

    server.child.kill(signal);
    await eventually(() => server.logs.some((l) => l.msg === 'shutdown begun'), 'shutdown to begin');
    expect(line(server, 'signal received').signal).toBe(signal);
    await expect(connect(server.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await Promise.all(clients.map((c) => c.ended));
    expect(await server.exited).toBe(0);

    const done = line(server, 'shutdown done');
    expect(line(server, 'shutdown begun').connections).toBe(20);
    expect(done).toMatchObject({ connections: 20, ended: 20, accepted: 20, rejected: 0 }); // still streaming when the timeout ran out
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

  it('lets clients that never stop, and one that never reads, go on for --shutdown-timeout and no longer', async () => {
    const timeoutMs = 3000; // not the close deadline (2 s): either could be mistaken for the other
    const server = await startServerProcess(['--shutdown-timeout', `${timeoutMs}ms`]);
    const base = `http://127.0.0.1:${line(server, 'listening').metricsPort as number}`;
    const talkers = await Promise.all(Array.from({ length: 5 }, async () => streamingClient(await connect(server.port), 1024)));
    // A client that sends without reading: its task waits in send for a drain that never comes.
    const deaf = await connect(server.port);
    deaf.on('error', () => {});
    deaf.pause();
    const flood = Buffer.alloc(1024 * 1024, 'deaf ');
    const waitsInSend = async () => ((await scrape(base)).get('echo_backpressure_pauses_total') ?? 0) > 0;
    for (let sent = 0; sent < 64 && !(await waitsInSend()); sent++) deaf.write(flood);
    await eventually(waitsInSend, 'the deaf client to fill its buffers', 20_000, 20);
    await eventually(() => talkers.every((c) => c.received.length > 3), 'every talker to get echoes');

    server.child.kill('SIGTERM');
    // However long the clients would go on, the server is gone soon after the timeout.
    const boundMs = timeoutMs + CLOSE_DEADLINE_MS + 10_000; // generous
    let timer: NodeJS.Timeout | undefined;
    const stillRunning = new Promise((resolve) => (timer = setTimeout(resolve, boundMs, `still running after ${boundMs} ms`)));
    expect(await Promise.race([server.exited, stillRunning])).toBe(0);
    clearTimeout(timer);
    await Promise.all(talkers.map((c) => c.ended));
    deaf.destroy();

    const begun = line(server, 'shutdown begun');
    const done = line(server, 'shutdown done');
    expect(done).toMatchObject({ connections: 6, ended: 6 });
    // Nobody left, so the server waited the whole timeout; then the talkers' echoes ended at
    // once and the deaf one's at its close deadline (2 s). A generous bound beyond that.
    const drainMs = (done.time as number) - (begun.time as number);
    expect(drainMs).toBeGreaterThanOrEqual(timeoutMs);
    expect(drainMs).toBeLessThan(boundMs);
  });

  it('lets idle clients go at once and exits promptly when all have left', async () => {
    const server = await startServerProcess(['--shutdown-timeout', '30s']);
    const socket = await connect(server.port);
    socket.on('error', () => {});
    server.child.kill('SIGTERM');
    await eventually(() => server.logs.some((l) => l.msg === 'shutdown begun'), 'shutdown to begin');
    socket.end(); // the client leaves: shutdown need not wait for the timeout
    expect(await server.exited).toBe(0);
    expect(line(server, 'shutdown done')).toMatchObject({ connections: 1, ended: 0 });
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
