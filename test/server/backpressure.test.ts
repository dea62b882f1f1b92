import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connect, expectedEcho, readBytes } from '../support/clients.js';
import { startServerProcess } from '../support/server-process.js';

/** Resident memory of a process, from the kernel (not from the process's own opinion). */
function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

const CHUNK = Buffer.alloc(1024 * 1024);
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = 0x61 + (i % 26); // a..z

const ATTEMPT_LIMIT = 512 * 1024 * 1024;

describe('backpressure', () => {
  it.each([
    { reads: 'its own sockets', env: {} },
    { reads: "Node's stream reads (ECHO_NATIVE_SOCKETS=0)", env: { ECHO_NATIVE_SOCKETS: '0' } },
  ])('a client that writes without reading cannot grow the server, and then gets everything back: $reads', async ({ env }) => {
    const server = await startServerProcess([], { env });
    expect(server.logs.find((entry) => entry.msg === 'listening')?.ownSockets).toBe(env.ECHO_NATIVE_SOCKETS !== '0');
    const pid = server.child.pid!;
    const socket = await connect(server.port);
    socket.pause(); // never read, for now
    const rssBefore = rssBytes(pid);

    // Write until the connection stops taking data (no 'drain' for a while), bounded in bytes.
    let written = 0;
    while (written < ATTEMPT_LIMIT) {
      written += CHUNK.length;
      if (!socket.write(CHUNK)) {
        const drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 1000);
          socket.once('drain', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (!drained) break;
      }
    }
    const rssStuck = rssBytes(pid);
    // Stuck long before the limit: the server stopped reading and TCP held the client back.
    expect(written).toBeLessThan(ATTEMPT_LIMIT / 4);
    expect(rssStuck - rssBefore).toBeLessThan(32 * 1024 * 1024);

    // Now read: every byte written comes back, upper-cased, in order.
    const reply = readBytes(socket, written, 60_000);
    socket.resume();
    const bytes = await reply;
    expect(bytes.length).toBe(written);
    const expectedChunk = expectedEcho(CHUNK);
    for (let offset = 0; offset < written; offset += CHUNK.length) {
      expect(bytes.subarray(offset, offset + CHUNK.length).equals(expectedChunk), `at ${offset}`).toBe(true);
    }
    socket.destroy();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
