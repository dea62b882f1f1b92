import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import type net from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { workersNode } from '../../scripts/test-tools.js';
import { supportsReusePort } from '../../src/reuse-port.js';
import { scrape } from '../metrics/scrape.js';
import { makeCertificates } from '../support/certificates.js';
import { connect, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { SERVER_CLI, startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * `echo-server --workers n` as a user runs it: a primary and n worker processes on one port,
 * on a Node.js that has SO_REUSEPORT (this one, or the 22 that `npm test` keeps in
 * node_modules/.cache when this one is older).
 */
const NODE = workersNode();
const SLOW_WRITE = fileURLToPath(new URL('../metrics/fixtures/slow-write.mjs', import.meta.url));

/** A server with `--workers 2`, once the primary says it listens (the workers say so first). */
async function startWorkers(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess & { metrics: string; primary: Record<string, unknown> }> {
  const server = await startServerProcess(['--workers', '2', ...args], { node: NODE, env });
  await eventually(() => primaryLine(server, 'listening') !== undefined, "the primary's listening line", 20_000);
  const primary = primaryLine(server, 'listening')!;
  return { ...server, primary, metrics: `http://127.0.0.1:${primary.metricsPort as number}` };
}

/** A line the primary logged (the workers' lines carry their number). */
const primaryLine = (server: ServerProcess, msg: string) => server.logs.find((line) => line.msg === msg && line.worker === undefined);

/** Opens `count` connections and checks one echo on each; they stay open. */
async function openEchoing(port: number, count: number): Promise<net.Socket[]> {
  const sockets = await Promise.all(Array.from({ length: count }, () => connect(port)));
  await Promise.all(sockets.map((socket, i) => roundTrip(socket, `hello ${i}`)));
  return sockets;
}

async function roundTrip(socket: net.Socket, text: string): Promise<void> {
  const reply = readBytes(socket, text.length);
  socket.write(text);
  expect((await reply).toString()).toBe(text.toUpperCase());
}

/** The per-worker gauge from the primary's /metrics: worker number to open connections. */
async function perWorker(metrics: string): Promise<Record<string, number>> {
  const samples = await scrape(metrics);
  const byWorker: Record<string, number> = {};
  for (const [key, value] of samples) {
    const match = /^echo_worker_connections_active\{worker="(\d+)"\}$/.exec(key);
    if (match) byWorker[match[1]!] = value;
  }
  return byWorker;
}

/** The pids of the primary's worker processes. */
function workerPids(server: ServerProcess): number[] {
  const out = spawnSync('pgrep', ['-P', String(server.child.pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).map(Number);
}

describe('echo-server --workers', () => {
  beforeAll(() => {
    if (!existsSync(NODE)) throw new Error(`no Node.js for the --workers tests at ${NODE}: npm test installs it (scripts/test-tools.ts)`);
  });

  it('refuses with one line on a Node.js without SO_REUSEPORT', () => {
    // The machine's own Node.js 20 (the suite may run on a newer one).
    const candidates = [process.execPath, ...execFileSync('bash', ['-c', 'which -a node || true'], { encoding: 'utf8' }).split('\n').filter(Boolean)];
    const old = candidates.find((node) => !supportsReusePort(execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()));
    expect(old, 'a Node.js older than 22.12 on this machine (Debian 12 has 20)').toBeDefined();
    const run = spawnSync(old!, [SERVER_CLI, '--workers', '2', '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^echo-server: --workers 2 needs SO_REUSEPORT: Linux and Node\.js 22\.12 or later \(this is linux, v20\.\d+\.\d+\)$/)]);
  });

  it('ECHO_WORKERS=auto: one worker per core this process may use; a count below 1 is refused', async () => {
    const server = await startServerProcess([], { node: NODE, env: { ECHO_WORKERS: 'auto' } });
    const cores = availableParallelism();
    if (cores > 1) await eventually(() => primaryLine(server, 'listening') !== undefined, "the primary's listening line", 20_000);
    const workers = server.logs.filter((line) => line.msg === 'listening' && line.worker !== undefined);
    expect(workers).toHaveLength(cores > 1 ? cores : 0);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const zero = spawnSync(NODE, [SERVER_CLI, '--workers', '0', '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
    expect([zero.status, zero.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(zero.stderr).toMatch(/^echo-server: .*--workers/);
  });

  it('runs two worker processes on one port; /metrics sums them and shows each one’s connections', async () => {
    const server = await startWorkers();
    expect(server.primary).toMatchObject({ workers: 2, port: server.port });
    const listening = server.logs.filter((line) => line.msg === 'listening' && line.worker !== undefined);
    expect(listening.map((line) => line.worker).sort()).toEqual([1, 2]);
    expect(new Set(listening.map((line) => line.port))).toEqual(new Set([server.port]));
    expect(workerPids(server)).toHaveLength(2);

    const sockets = await openEchoing(server.port, 200);
    const byWorker = await perWorker(server.metrics);
    // The kernel spreads connections by a hash of their addresses: both get some, all are counted.
    expect(Object.keys(byWorker).sort()).toEqual(['1', '2']);
    expect(byWorker['1']! + byWorker['2']!).toBe(200);
    expect(Math.min(byWorker['1']!, byWorker['2']!)).toBeGreaterThan(0);
    const samples = await scrape(server.metrics);
    expect(samples.get('echo_connections_active{listener="plain"}')).toBe(200);
    expect(samples.get('echo_connections_accepted_total{listener="plain"}')).toBe(200);
    const bytes = Array.from({ length: 200 }, (_, i) => `hello ${i}`.length).reduce((a, b) => a + b);
    expect([samples.get('echo_received_bytes_total'), samples.get('echo_sent_bytes_total')]).toEqual([bytes, bytes]);
    expect(samples.get('echo_worker_restarts_total')).toBe(0);
    for (const socket of sockets) socket.destroy();
    await eventually(async () => (await scrape(server.metrics)).get('echo_connections_closed_total{reason="client"}') === 200, 'the 200 closes summed');
  });

  it('replaces a worker that dies, logs and counts it; the other worker’s clients go on', async () => {
    const server = await startWorkers();
    const sockets = await openEchoing(server.port, 100);
    const before = await perWorker(server.metrics);
    const [victim] = workerPids(server);
    process.kill(victim!, 'SIGKILL');
    // The primary's line (its own pid) names the worker.
    const deathLine = () => server.logs.find((line) => line.msg === 'worker died: starting another' && line.pid === server.child.pid);
    await eventually(() => deathLine() !== undefined, 'the death logged');
    const died = deathLine()!;
    expect(died).toMatchObject({ signal: 'SIGKILL', code: null });
    const dead = String(died.worker);
    const alive = dead === '1' ? '2' : '1';
    // The dead one's clients were closed with it (the kernel ends a dead process's sockets);
    // the survivor's still echo.
    const gone = (socket: net.Socket) => socket.readableEnded || socket.destroyed;
    await eventually(() => sockets.filter(gone).length === before[dead], "the dead worker's clients closed");
    const survivors = sockets.filter((socket) => !gone(socket));
    expect(survivors).toHaveLength(before[alive]!);
    await Promise.all(survivors.map((socket, i) => roundTrip(socket, `after ${i}`)));
    // Its replacement listens again, under the same number, and serves new clients.
    await eventually(async () => (await scrape(server.metrics)).get('echo_worker_restarts_total') === 1, 'the restart counted');
    const listeningAs = (worker: string) => server.logs.filter((line) => line.msg === 'listening' && String(line.worker) === worker);
    await eventually(() => listeningAs(dead).length === 2, 'its replacement listening');
    expect(listeningAs(dead)[1]!.pid).not.toBe(victim);
    expect(workerPids(server)).toHaveLength(2);
    const fresh = await openEchoing(server.port, 50);
    await eventually(async () => (await perWorker(server.metrics))[dead]! > 0, 'the new worker taking clients', 10_000);
    for (const socket of [...sockets, ...fresh]) socket.destroy();
  });

  it('SIGTERM: every worker shuts down gracefully, every byte read is echoed, exit 0', async () => {
    const server = await startWorkers();
    const sockets = await openEchoing(server.port, 40);
    // Each client sends one last message as the signal goes out; it must come back whole.
    const replies = sockets.map((socket, i) => readBytes(socket, `last words ${i}`.length));
    sockets.forEach((socket, i) => socket.write(`last words ${i}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.child.kill('SIGTERM');
    expect((await Promise.all(replies)).map(String)).toEqual(sockets.map((_, i) => `LAST WORDS ${i}`));
    await Promise.all(sockets.map((socket) => { socket.end(); return once(socket, 'close'); }));
    expect(await server.exited).toBe(0);
    const done = server.logs.filter((line) => line.msg === 'shutdown done');
    expect(done.filter((line) => line.worker !== undefined).map((line) => line.worker).sort()).toEqual([1, 2]);
    expect(primaryLine(server, 'shutdown done')).toMatchObject({ workers: 2, failed: 0 });
    const accepted = done.filter((line) => line.worker !== undefined).reduce((sum, line) => sum + (line.accepted as number), 0);
    expect(accepted).toBe(40);
  });

  it('SIGTERM: new connections are refused once the primary logs that every worker has closed its listeners, not before; open ones still echo', async () => {
    const server = await startWorkers();
    const sockets = await openEchoing(server.port, 40);
    // Open connections on both workers, so that both are still draining after the line.
    expect(Object.values(await perWorker(server.metrics)).every((count) => count > 0)).toBe(true);
    // A worker that does not run cannot close its listener, and the kernel still completes
    // handshakes for it: the primary must wait for it.
    const [late] = workerPids(server);
    process.kill(late!, 'SIGSTOP');
    try {
      server.child.kill('SIGTERM');
      await eventually(() => server.logs.some((line) => line.msg === 'signal received' && line.worker !== undefined), "the other worker's signal line");
      const queued = await connect(server.port);
      queued.on('error', () => {});
      queued.destroy();
      expect(primaryLine(server, 'listeners closed')).toBeUndefined();
    } finally {
      process.kill(late!, 'SIGCONT');
    }
    await eventually(() => primaryLine(server, 'listeners closed') !== undefined, "the primary's listeners closed line");
    expect(primaryLine(server, 'listeners closed')).toMatchObject({ workers: 2, sinceSignalMs: expect.any(Number) });
    // No listener is left on the port: the kernel answers the SYN with a reset.
    const refused = await connect(server.port).then(
      (socket) => (socket.destroy(), 'accepted'),
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(refused).toBe('ECONNREFUSED');
    // Each worker's clients still have their connection, and it still echoes.
    expect(primaryLine(server, 'shutdown done')).toBeUndefined();
    await Promise.all(sockets.map((socket, i) => roundTrip(socket, `still here ${i}`)));
    await Promise.all(sockets.map((socket) => { socket.end(); return once(socket, 'close'); }));
    expect(await server.exited).toBe(0);
    const msgs = server.logs.filter((line) => line.worker === undefined).map((line) => line.msg);
    expect(msgs.slice(msgs.indexOf('signal received: shutting the workers down'))).toEqual([
      'signal received: shutting the workers down',
      'listeners closed',
      'shutdown done',
    ]);
  });

  it('SIGTERM during start-up: the workers already started stop gracefully, exit 0', async () => {
    // startServerProcess returns on the first worker's line: the primary is still starting.
    const early = await startServerProcess(['--workers', '2'], { node: NODE });
    early.child.kill('SIGTERM');
    expect(await early.exited).toBe(0);
    expect(primaryLine(early, 'listening')).toBeUndefined();
    expect(primaryLine(early, 'shutdown done')).toMatchObject({ failed: 0 });
    const started = early.logs.filter((line) => line.msg === 'listening' && line.worker !== undefined).map((line) => line.pid);
    const stopped = early.logs.filter((line) => line.msg === 'shutdown done' && line.worker !== undefined).map((line) => line.pid);
    expect(stopped.sort()).toEqual(started.sort());
  });

  it('SIGHUP reaches every worker: each reloads its TLS certificate', async () => {
    const certs = await makeCertificates();
    try {
      const server = await startWorkers(['--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile]);
      expect(server.primary.tlsPort).toEqual(expect.any(Number));
      server.child.kill('SIGHUP');
      const reloaded = () => server.logs.filter((line) => line.msg === 'TLS certificate reloaded').map((line) => line.worker);
      await eventually(() => reloaded().length === 2, 'a reload in each worker');
      expect(reloaded().sort()).toEqual([1, 2]);
      const samples = await scrape(server.metrics);
      expect(samples.get('echo_tls_reloads_total{result="ok"}')).toBe(2);
    } finally {
      certs.cleanup();
    }
  });

  it('the blocked-loop detector works in each worker and says which one', async () => {
    const server = await startWorkers(['--max-blocking', '100ms'], { NODE_OPTIONS: `--import=${SLOW_WRITE}` });
    // Enough connections that both workers hold some (the kernel picks the worker). They stall
    // one at a time, each reported before the next, until each worker has stalled one: each
    // stall takes a worker 300 ms of CPU, and on a busy machine 16 at once outlast a round trip.
    const sockets = await Promise.all(Array.from({ length: 16 }, () => connect(server.port)));
    const blamed = () => server.logs.filter((line) => line.msg === 'event loop blocked by a task that did not switch');
    const workersBlamed = () => new Set(blamed().map((line) => line.worker)).size;
    for (let stalled = 0; stalled < sockets.length && workersBlamed() < 2; stalled++) {
      await roundTrip(sockets[stalled]!, 'stall');
      await eventually(() => blamed().length > stalled, `the report of stall ${stalled + 1}`, 20_000);
    }
    expect(workersBlamed()).toBe(2);
    expect(blamed().every((line) => typeof line.task === 'string' && (line.task as string).startsWith('conn 127.0.0.1:'))).toBe(true);
    for (const socket of sockets) socket.destroy();
  });
});
