import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { scrape } from '../metrics/scrape.js';
import { closed, connect, expectedEcho, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { sendQueue } from '../support/sockets.js';

async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  const reply = readBytes(socket, text.length);
  socket.write(text);
  return (await reply).toString();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `echo_connections_closed_total{reason="idle"}` of a server process, scraped now. */
async function idleCloses(server: ServerProcess): Promise<number> {
  const listening = server.logs.find((line) => line.msg === 'listening')!;
  const samples = await scrape(`http://127.0.0.1:${listening.metricsPort as number}`);
  return samples.get('echo_connections_closed_total{reason="idle"}')!;
}

describe('limits', () => {
  it('closes connections past --max-connections at once and counts them, serving the others', async () => {
    const { server, port } = await startServer({ maxConnections: 3 });
    const kept = await Promise.all([1, 2, 3].map(() => connect(port)));
    for (const socket of kept) expect(await roundTrip(socket, 'before')).toBe('BEFORE');

    const extra = await connect(port);
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
    const next = await connect(port);
    expect(await roundTrip(next, 'next')).toBe('NEXT');
    for (const socket of [...kept, next]) socket.destroy();
  });

  it('closes a connection that stays idle past --idle-timeout, not a busy one', async () => {
    // The server runs in a process of its own: a stall of this test's event loop must not hold
    // its reads back behind its timers.
    const server = await startServerProcess(['--idle-timeout', '2s']);
    const idle = await connect(server.port);
    let idleClosed = false;
    void closed(idle, 60_000).then((gone) => (idleClosed = gone));
    const busy = await connect(server.port);
    // The busy client talks every 50 ms, forty times more often than the timeout asks.
    for (const deadline = Date.now() + 30_000; !idleClosed && Date.now() < deadline; ) {
      expect(await roundTrip(busy, 'ping')).toBe('PING');
      await sleep(50);
    }
    expect(idleClosed).toBe(true);
    expect(busy.closed).toBe(false);
    await eventually(async () => (await idleCloses(server)) === 1, 'the idle close to be counted', 20_000, 50);
    const payload = Buffer.from('last words');
    expect((await readBytesAfterWrite(busy, payload)).equals(expectedEcho(payload))).toBe(true);
    busy.destroy();
  });

  it('closes an idle client that stopped reading, though its echo can never drain', async () => {
    const { server, port } = await startServer({ idleTimeoutMs: 1000 });
    const socket = await connect(port);
    socket.on('error', () => {});
    socket.pause(); // never reads
    // Fill both directions until the server's task waits in send for a drain that never comes.
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    const waitsInSend = () => server.stats.backpressurePauses > 0;
    for (let sent = 0; sent < 64 && !waitsInSend(); sent++) {
      socket.write(chunk);
      await eventually(() => waitsInSend() || !socket.writableNeedDrain, 'the server to read or to wait in send');
    }
    await eventually(waitsInSend, 'the server to wait in send');
    // Idle from here on, both ways: the server must let go (within two timeouts and its close deadline).
    await eventually(() => server.stats.connectionsClosed.idle === 1, 'the idle close to be counted');
    expect(server.stats.connectionsActive).toBe(0);
    socket.destroy();
  });

  it('keeps a connection whose echo still flows to a slow reader, and closes it once the reader has it all', async () => {
    const idleMs = 1000;
    const server = await startServerProcess(['--idle-timeout', `${idleMs}ms`]);
    // A client that reads 8 KiB every 20 ms (about 400 KB/s) and sends nothing more once it
    // has sent its payload: the server reads all of it at once and hands the echo to the
    // kernel, which then takes seconds to deliver it. Traffic all along, one way.
    const received: Buffer[] = [];
    let lastByteAt = 0;
    const reads = {
      buffer: Buffer.alloc(8 * 1024),
      callback(bytes: number, buffer: Uint8Array) {
        received.push(Buffer.from(buffer.subarray(0, bytes)));
        lastByteAt = performance.now();
        return false; // one read per resume
      },
    };
    const socket = net.connect({ port: server.port, host: '127.0.0.1', onread: reads } as net.NetConnectOpts);
    socket.on('error', () => {});
    await once(socket, 'connect');
    const ended = once(socket, 'end').then(() => performance.now());
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = 0x61 + (i % 26);
    socket.write(payload);
    const reading = setInterval(() => socket.resume(), 20);
    try {
      // Until the echo is all in: when did the server call it idle, and what did the kernel
      // still hold for the client then? (Scraped first: a later close cannot slip in between.)
      const samples: Array<{ at: number; idle: number; queued: number }> = [];
      let done = false;
      void ended.then(() => (done = true));
      while (!done) {
        const idle = await idleCloses(server);
        samples.push({ at: performance.now(), idle, queued: (await sendQueue(server.port, socket.localPort!)) ?? 0 });
        await sleep(50);
      }
      expect(Buffer.concat(received).equals(expectedEcho(payload))).toBe(true);
      // The echo took longer than the timeout to reach the client...
      const flowing = samples.filter((sample) => sample.queued > 0);
      expect(flowing.at(-1)!.at - flowing[0]!.at).toBeGreaterThan(idleMs);
      // ...and the server did not call the connection idle while it still had bytes for it.
      expect(samples.filter((sample) => sample.idle > 0 && sample.queued > 0)).toEqual([]);
      // Once the client had everything, it was idle, and closed as such: a whole timeout after
      // the kernel last held echo bytes for it, not right behind them (as a close while the
      // kernel still held the echo would be: its FIN queued behind the data). Counted from the
      // last sample that saw bytes queued, not from the client's last read: the client reads
      // once per 20 ms timer, so under load its last read comes well after the kernel sent the
      // last byte (a suite run measured 834 ms from it to a close 1 s after the send).
      expect((await ended) - flowing.at(-1)!.at).toBeGreaterThanOrEqual(idleMs * 0.9);
      expect(lastByteAt).toBeLessThanOrEqual(await ended);
      await eventually(async () => (await idleCloses(server)) === 1, 'the idle close to be counted', 20_000, 50);
    } finally {
      clearInterval(reading);
      socket.destroy();
    }
  });
});

async function readBytesAfterWrite(socket: net.Socket, payload: Buffer): Promise<Buffer> {
  const reply = readBytes(socket, payload.length);
  socket.write(payload);
  return reply;
}
