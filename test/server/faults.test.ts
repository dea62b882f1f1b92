import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, echoOnce } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';
import { startServerProcess } from '../support/server-process.js';
import { socketState } from '../support/sockets.js';
import { scrape } from '../metrics/scrape.js';

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

  it('a client that sent and reset before the server read any of it is counted as an error, not as a client that left', async () => {
    // Stopped while the clients send and reset, the server's first read of each connection
    // finds its bytes and the reset together, which libuv reports as the end of the input
    // (src/server/peer-reset.ts); the echo's write meets the reset as well. Either way: an error.
    const server = await startServerProcess();
    const base = `http://127.0.0.1:${server.logs.find((line) => line.msg === 'listening')!.metricsPort as number}`;
    const clients = 5;
    server.child.kill('SIGSTOP');
    try {
      await Promise.all(
        Array.from({ length: clients }, async () => {
          const socket = await connect(server.port);
          socket.on('error', () => {});
          await new Promise<void>((resolve) => socket.write('echo this', () => resolve()));
          socket.resetAndDestroy();
        }),
      );
    } finally {
      server.child.kill('SIGCONT');
    }
    const closedBy = async () => {
      const samples = await scrape(base);
      return { client: samples.get('echo_connections_closed_total{reason="client"}'), error: samples.get('echo_connections_closed_total{reason="error"}') };
    };
    await eventually(async () => Object.values(await closedBy()).reduce((sum, n) => sum! + (n ?? 0), 0) === clients, 'every client to be closed');
    expect(await closedBy()).toEqual({ client: 0, error: clients });
  });

  it('clients that vanish while the server writes to them (ECONNRESET) each end as an error, and disturb no one else', async () => {
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
      // ...then vanish with its echoes unread: the kernel answers with a reset, and the
      // server's write in progress fails with ECONNRESET (EPIPE: the next test).
      socket.destroy();
    }
    await eventually(() => server.stats.connectionsActive === 1, 'all but the steady client to close');
    expect(server.stats.connectionsClosed).toEqual({ client: 0, idle: 0, error: vanishing, shutdown: 0, setup: 0 });
    const reply = new Promise<string>((resolve) => steady.once('data', (d: Buffer) => resolve(d.toString())));
    steady.write('steady');
    expect(await reply).toBe('STEADY');
    steady.destroy();
  });

  it('clients that half-close, then vanish while the server still echoes to them, end with EPIPE, each an error close', async () => {
    // EPIPE is what a write gets on a connection reset after the peer's FIN (Linux: a reset
    // in CLOSE-WAIT). The server runs in its own process; strace watches its writes while the
    // clients vanish.
    const server = await startServerProcess();
    const base = `http://127.0.0.1:${server.logs.find((line) => line.msg === 'listening')!.metricsPort as number}`;
    const clients = 5;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pauses = async () => (await scrape(base)).get('echo_backpressure_pauses_total')!;
    const sockets: net.Socket[] = [];
    for (let i = 0; i < clients; i++) {
      const socket = await connect(server.port);
      socket.on('error', () => {});
      socket.pause(); // never reads its echoes
      sockets.push(socket);
      const before = await pauses();
      // Writes of 64 KiB until the server waits in send: little is left on the way then, so
      // the FIN after it reaches the server, which still has echoes to write.
      while ((await pauses()) === before) {
        socket.write(chunk);
        await eventually(() => !socket.writableNeedDrain, 'the write to leave');
      }
      socket.end();
      await eventually(async () => (await socketState(server.port, socket.localPort!)) === 'CLOSE-WAIT', "the client's FIN to reach the server", 30_000, 10);
    }

    const dir = mkdtempSync(join(tmpdir(), 'epipe-'));
    const traceFile = join(dir, 'trace');
    const strace = spawn('strace', ['-f', '-Z', '-e', 'trace=write,writev,sendmsg', '-o', traceFile, '-p', String(server.child.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let straceErr = '';
    strace.stderr.setEncoding('utf8').on('data', (text: string) => (straceErr += text));
    try {
      await eventually(() => straceErr.includes('attached'), 'strace to attach', 30_000);
      // Each vanishes, echoes unread: a reset, which the server's waiting write meets.
      for (const socket of sockets) socket.destroy();
      const closed = async () => (await scrape(base)).get('echo_connections_closed_total{reason="error"}');
      await eventually(async () => (await closed()) === clients, 'every vanished client to be closed as an error', 30_000, 20);
    } finally {
      strace.kill('SIGTERM'); // detaches; the server runs on
      await new Promise((resolve) => strace.once('close', resolve));
    }
    const failed = readFileSync(traceFile, 'utf8').split('\n').filter((line) => / = -1 E[A-Z]+/.test(line));
    rmSync(dir, { recursive: true });
    // One failed write per vanished client, each EPIPE.
    expect(failed.map((line) => / = -1 (E[A-Z]+)/.exec(line)![1]).filter((code) => code !== 'EAGAIN')).toEqual(Array(clients).fill('EPIPE'));
    expect((await scrape(base)).get('echo_connections_closed_total{reason="client"}')).toBe(0);
    expect((await echoOnce(server.port, Buffer.from('still here'))).toString()).toBe('STILL HERE');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 120_000);
});
