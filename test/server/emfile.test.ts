import { readdirSync, readlinkSync } from 'node:fs';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, echoOnce, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess } from '../support/server-process.js';

const CLIENTS = 150;
const LIMIT = 64;

/** What process `pid` holds descriptors for: all of them, and how many are sockets. */
function descriptors(pid: number): { all: number; sockets: number } {
  const targets = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return ''; // closed meanwhile
    }
  });
  return { all: targets.length, sockets: targets.filter((target) => target.startsWith('socket:')).length };
}

describe('descriptor exhaustion', () => {
  it('survives EMFILE under a low ulimit -n and serves again once descriptors free up', async () => {
    const server = await startServerProcess([], { shellPrefix: `ulimit -n ${LIMIT}` });
    const before = descriptors(server.child.pid!); // the shell exec'd node: same process
    // Far more clients than the server has descriptors for. While it is out of descriptors,
    // libuv accepts each extra connection with a reserve descriptor and closes it at once.
    const sockets: net.Socket[] = await Promise.all(Array.from({ length: CLIENTS }, () => connect(server.port)));
    let closedByServer = 0;
    for (const socket of sockets) {
      socket.on('error', () => {});
      socket.once('close', () => closedByServer++);
      socket.resume();
    }
    await eventually(() => closedByServer > 0, 'the server to close an extra connection');
    // Those it holds it still serves: each answers (a closed one would end the read instead).
    const replies = await Promise.all(
      sockets.map(async (socket) => {
        if (socket.closed || socket.readableEnded) return '';
        const reply = readBytes(socket, 4, 10_000);
        socket.write('held');
        return (await reply).toString();
      }),
    );
    const served = replies.filter((reply) => reply === 'HELD').length;
    expect(served + replies.filter((reply) => reply === '').length).toBe(CLIENTS);
    // It really ran out, and every descriptor it got went to a client it serves.
    const during = descriptors(server.child.pid!);
    expect(during.all).toBeGreaterThanOrEqual(LIMIT);
    expect(served).toBe(during.sockets - before.sockets);
    expect(served).toBeLessThan(CLIENTS);

    for (const socket of sockets) socket.destroy();
    // Serving again: a fresh client gets its echo once the old descriptors are closed.
    const servesAgain = async () =>
      (await echoOnce(server.port, Buffer.from('back again')).catch(() => Buffer.alloc(0))).toString() === 'BACK AGAIN';
    await eventually(servesAgain, 'the server to serve a fresh client', 20_000, 100);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const done = server.logs.find((l) => l.msg === 'shutdown done')!;
    // Every connection was either held and served, or closed by libuv while descriptors ran
    // out (never reaching the server); then the fresh client was accepted.
    expect(done.accepted).toBe(served + 1);
  });
});
