import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connect, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { runLoad } from '../load/support/cli.js';
import type { BlockedLoopCause } from '../../src/tasks/index.js';
import { scrape } from './scrape.js';

// The blocked-loop detector in echo-server as users run it (dist/, child processes): what it
// logs and counts for a task that holds the loop, and that a merely busy loop names no task.

const SLOW_WRITE = fileURLToPath(new URL('./fixtures/slow-write.mjs', import.meta.url));
const BY_TASK = 'event loop blocked by a task that did not switch';
const BUSY = 'event loop busy: timers ran late, no single task to blame';

function metricsBase(server: ServerProcess): string {
  const listening = server.logs.find((line) => line.msg === 'listening')!;
  return `http://127.0.0.1:${listening.metricsPort as number}`;
}

/** `echo_blocked_loop_events_total` by cause, as scraped now. */
async function blockedLoopEvents(server: ServerProcess): Promise<Record<BlockedLoopCause, number | undefined>> {
  const samples = await scrape(metricsBase(server));
  const count = (cause: string) => samples.get(`echo_blocked_loop_events_total{cause="${cause}"}`);
  return { task: count('task'), outside: count('outside'), busy: count('busy'), unscheduled: count('unscheduled') };
}

/** Log lines that name a task (the `outside` warning has `task: null`). */
const namingATask = (server: ServerProcess) => server.logs.filter((line) => typeof line.task === 'string');

/** Threads of a process, from /proc. */
const threads = (server: ServerProcess) => readdirSync(`/proc/${server.child.pid}/task`).length;

/** The fixture's own measure of each stall it caused, from the server's stderr. */
const stalls = (server: ServerProcess) => [...server.stderr().matchAll(/^spun ([\d.]+) ms$/gm)].map((m) => Number(m[1]));

/** SIGTERM, then the exit code once every line the server wrote has been read. */
async function stop(server: ServerProcess): Promise<number> {
  const closed = once(server.child, 'close'); // after its stdout has ended: no line still in flight
  server.child.kill('SIGTERM');
  const code = await server.exited;
  await closed;
  return code;
}

/** Sends `text` on a fresh connection and waits for its echo. */
async function echo(server: ServerProcess, text: string) {
  const socket = await connect(server.port);
  const reply = readBytes(socket, text.length);
  socket.write(text);
  expect((await reply).toString()).toBe(text.toUpperCase());
  return socket;
}

describe('the blocked-loop detector in echo-server', () => {
  it('names the client whose task held the loop, once, with how long, and counts it', async () => {
    const server = await startServerProcess(['--max-blocking', '100ms'], { env: { NODE_OPTIONS: `--import=${SLOW_WRITE}` } });
    const calm = await echo(server, 'calm');
    const slow = await echo(server, 'stall'); // its echo, STALL, spins in the task's own step
    await eventually(() => namingATask(server).length > 0, 'the warning naming the task');
    // Written to stderr before the echo, but stderr is another pipe: it may come in later.
    await eventually(() => stalls(server).length === 1, "the fixture's measure of the stall");
    const [spunMs] = stalls(server);
    expect(namingATask(server)).toEqual([
      expect.objectContaining({ level: 40, msg: BY_TASK, task: `conn 127.0.0.1:${slow.localPort}`, maxBlockingMs: 100 }),
    ]);
    // Never less than the spin took; more by about a look at most (an eighth of the limit),
    // and surely by less than a beat (a quarter of it).
    const { blockedMs } = namingATask(server)[0] as { blockedMs: number };
    expect(blockedMs).toBeGreaterThanOrEqual(Math.floor(spunMs!));
    expect(blockedMs).toBeLessThanOrEqual(spunMs! + 100 / 4);
    expect((await blockedLoopEvents(server)).task).toBe(1);
    slow.destroy();
    calm.destroy();
    expect(await stop(server)).toBe(0);
  });

  it('names no task while 2,000 busy clients saturate the loop, and logs the busy loop sparingly', async () => {
    const server = await startServerProcess(['--max-blocking', '100ms']);
    const startedAt = Date.now();
    const load = await runLoad(['--port', String(server.port), '--clients', '2000', '--duration', '5s', '--json'], 50_000);
    const result = JSON.parse(load.stdout) as { requests: { total: number } };
    expect(result.requests.total).toBeGreaterThan(0);
    const counted = await blockedLoopEvents(server);
    expect(await stop(server)).toBe(0);
    const lifetimeS = (Date.now() - startedAt) / 1000;

    // However slow the machine, and however late its timers ran: no task is blamed.
    expect(namingATask(server)).toEqual([]);
    expect(counted.task).toBe(0);
    // A late beat is counted each time, but logged at most once per 10 s, plus the count
    // still unlogged at shutdown; together the lines account for every one counted.
    const busy = server.logs.filter((line) => line.msg === BUSY) as Array<{ lateMs?: number; occurrences: number }>;
    expect(busy.length).toBeLessThanOrEqual(Math.ceil(lifetimeS / 10) + 1);
    expect(busy.reduce((sum, line) => sum + line.occurrences, 0)).toBeGreaterThanOrEqual(counted.busy!);
    for (const line of busy.filter((l) => l.lateMs !== undefined)) expect(line.lateMs).toBeGreaterThan(100);
  }, 60_000); // echo-load may take its whole connect timeout (10 s) on a loaded machine

  it('is off with --max-blocking 0: no watchdog thread, no events', async () => {
    const env = { NODE_OPTIONS: `--import=${SLOW_WRITE}` };
    const off = await startServerProcess(['--max-blocking', '0'], { env });
    const on = await startServerProcess(['--max-blocking', '100ms'], { env });
    (await echo(off, 'same work')).destroy();
    (await echo(on, 'same work')).destroy();
    expect(threads(on) - threads(off)).toBe(1);

    // The same stall in both, at once: by the time the one that is on has reported it (at its
    // first beat after the stall), the one that is off has had its beats too, had it any.
    const slow = await Promise.all([echo(off, 'stall'), echo(on, 'stall')]);
    await eventually(() => namingATask(on).length === 1, 'the detector that is on to report the stall');
    await eventually(() => stalls(off).length === 1, "the fixture's measure of the stall");
    expect(off.logs.filter((line) => String(line.msg).startsWith('event loop'))).toEqual([]);
    expect(await blockedLoopEvents(off)).toEqual({ task: 0, outside: 0, busy: 0, unscheduled: 0 });
    for (const socket of slow) socket.destroy();
    for (const server of [off, on]) expect(await stop(server)).toBe(0);
  });
});
