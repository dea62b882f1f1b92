import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { upperAscii } from '../../load/worker/payload.js';
import { runLoad, runLoadJson } from './support/cli.js';
import { startFakeServer } from './support/servers.js';

/** Three addresses of the loopback block that no other test connects from. */
const SOURCES = '127.0.19.1-127.0.19.3';
const [A, B, C] = ['127.0.19.1', '127.0.19.2', '127.0.19.3'];

/** One accepted connection, as the server saw it: where it came from, and whether it ever sent a byte. */
interface Accepted {
  address: string;
  spoke: boolean;
}

/**
 * A correct upper-casing echo server that records every connection it accepts. `breakFirst`:
 * the first connection from each address is reset at its first message (after echoing
 * nothing), as a server side that breaks would; later ones from that address are served.
 */
async function recordingServer(breakFirst = false): Promise<{ port: number; accepted: Accepted[] }> {
  const accepted: Accepted[] = [];
  const records = new WeakMap<net.Socket, Accepted>();
  const broken = new Set<string>();
  const { port, server } = await startFakeServer((socket, chunk) => {
    const record = records.get(socket)!;
    record.spoke = true;
    if (breakFirst && !broken.has(record.address)) {
      broken.add(record.address);
      socket.resetAndDestroy();
      return;
    }
    socket.write(upperAscii(chunk));
  });
  server.on('connection', (socket: net.Socket) => {
    const record = { address: socket.remoteAddress!, spoke: false };
    accepted.push(record);
    records.set(socket, record);
  });
  return { port, accepted };
}

/** How many of `accepted` came from each address, in address order. */
function bySource(accepted: readonly Accepted[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { address } of [...accepted].sort((x, y) => x.address.localeCompare(y.address))) counts[address] = (counts[address] ?? 0) + 1;
  return counts;
}

describe('echo-load --source on every shape of load', () => {
  it('held clients and the --idle pool each connect from the source of their connection index', async () => {
    const { port, accepted } = await recordingServer();
    // 4 active clients (indexes 0-3) and 5 idle ones (4-8, past the active ones on 2 workers).
    const { code, stderr, result } = await runLoadJson(['--port', String(port), '--source', SOURCES, '--clients', '4', '--idle', '5', '--workers', '2', '--messages', '40']);
    expect([code, stderr]).toEqual([0, '']);
    expect([result.held, result.idle.held, result.errors, result.requests.total]).toEqual([4, 5, 0, 40]);
    // Index i from source i % 3: active 0-3 from A, B, C, A; idle 4-8 from B, C, A, B, C.
    expect(bySource(accepted.filter((connection) => connection.spoke))).toEqual({ [A]: 2, [B]: 1, [C]: 1 });
    expect(bySource(accepted.filter((connection) => !connection.spoke))).toEqual({ [A]: 1, [B]: 2, [C]: 2 });
  });

  it("--connection-lifetime: every successor connects from its client's source", async () => {
    const { port, accepted } = await recordingServer();
    // 2 clients of 20 messages each, 4 lives of 5: client 0 always from A, client 1 from B; C is never used.
    const { code, stderr, result } = await runLoadJson(['--port', String(port), '--source', SOURCES, '--clients', '2', '--workers', '1', '--messages', '40', '--connection-lifetime', '5']);
    expect([code, stderr]).toEqual([0, '']);
    expect([result.connected, result.closed, result.errors]).toEqual([8, 8, 0]);
    expect(bySource(accepted)).toEqual({ [A]: 4, [B]: 4 });
  });

  it('--reconnect: a client the server side broke reconnects from the same source', async () => {
    // The first connection from each address is reset: a reconnect from any other address
    // than its client's would be a first from there, and be reset too.
    const { port, accepted } = await recordingServer(true);
    const { code, stderr, result } = await runLoadJson(['--port', String(port), '--source', SOURCES, '--clients', '2', '--workers', '1', '--rate', '20', '--duration', '1s', '--reconnect']);
    expect([code, stderr]).toEqual([0, '']);
    expect([result.disrupted, result.reconnects, result.held, result.errors]).toEqual([2, 2, 2, 0]);
    expect(bySource(accepted)).toEqual({ [A]: 2, [B]: 2 });
  });

  it('--arrival-rate: each arrival connects from the next source', async () => {
    const { port, accepted } = await recordingServer();
    const { code, stderr, result } = await runLoadJson(['--port', String(port), '--source', SOURCES, '--arrival-rate', '30', '--connection-lifetime', '2', '--rate', '50', '--duration', '1s', '--workers', '2']);
    expect([code, stderr]).toEqual([0, '']);
    expect(result.errors).toBe(0);
    const counts = bySource(accepted);
    expect(Object.keys(counts)).toEqual([A, B, C]);
    // Arrivals take indexes in turn (worker 0 the even ones, worker 1 the odd), so the sources
    // share them evenly, but for the last few of a worker that arrived less often.
    expect(Math.max(...Object.values(counts)) - Math.min(...Object.values(counts))).toBeLessThanOrEqual(2);
  });

  it.each([
    ['an --idle connection', ['--clients', '1', '--idle', '1', '--workers', '1', '--messages', '1']],
    ['an arrival', ['--arrival-rate', '10', '--connection-lifetime', '1', '--duration', '1s']],
  ])('refuses before the run a source that is not local, when only %s would use it', async (_what, args) => {
    const { port, accepted } = await recordingServer();
    // 192.0.2.1 (TEST-NET-1) is no address of this machine; it is the second source, index 1.
    const { code, stdout, stderr } = await runLoad(['--port', String(port), '--source', `${A},192.0.2.1`, ...args]);
    expect([code, stdout]).toEqual([2, '']);
    expect(stderr).toMatch(/^echo-load: --source 192\.0\.2\.1 is not an address of this machine \(EADDRNOTAVAIL\)\n$/);
    expect(accepted).toEqual([]);
  });

  it('refuses, before the run, a source of another family than a target', async () => {
    const { port, accepted } = await recordingServer();
    const { code, stderr } = await runLoad(['--port', String(port), '--source', '::1', '--clients', '1', '--messages', '1']);
    expect(code).toBe(2);
    expect(stderr).toBe(`echo-load: --source is IPv6 but target 127.0.0.1:${port} has no IPv6 address: a connection's source must be of its target's family\n`);
    expect(accepted).toEqual([]);
  });
});
