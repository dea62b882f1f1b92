import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { scrape } from './scrape.js';

// The blocked-loop detector in echo-server (dist/, a child process) with a CPU hog on the same
// core: both pinned there with taskset, so that the kernel has to share that one core between
// them. A loop that really was held is still reported as held; a process that the machine did
// not run (it ran the hog instead) is no warning about the server, and is counted as
// `unscheduled`.

const SLOW_WRITE = fileURLToPath(new URL('./fixtures/slow-write.mjs', import.meta.url));
const STALL_ON_SIGNAL = fileURLToPath(new URL('./fixtures/stall-on-signal.mjs', import.meta.url));
const BY_TASK = 'event loop blocked by a task that did not switch';
const OUTSIDE = 'event loop blocked outside any task';
const BUSY = 'event loop busy: timers ran late, no single task to blame';
const UNSCHEDULED = 'event loop late: the machine did not run the process';
const WARNINGS = [BY_TASK, OUTSIDE, BUSY];

/** The last core: the server and the hog share it. */
const CORE = String(cpus().length - 1);

const hogs: ChildProcess[] = [];
/** Kills every hog started so far, and waits until each has gone. */
async function stopHogs(): Promise<void> {
  for (const hog of hogs.splice(0)) {
    if (hog.exitCode !== null || hog.signalCode !== null) continue;
    const exited = once(hog, 'exit');
    hog.kill('SIGKILL');
    await exited;
  }
}
afterEach(stopHogs);

/** Runs a command to its end; rejects unless it exits 0. */
async function run(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`);
}

/** Milliseconds a process's main thread has run on a CPU (Linux's schedstat). */
const cpuMs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0]) / 1e6;

/** The cores a process may run on, as the kernel lists them. */
const allowedCores = (pid: number) => /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];

/** A process that computes forever on `CORE`, at the normal priority; killed after each test. */
async function startHog(): Promise<ChildProcess> {
  const hog = spawn('taskset', ['-c', CORE, process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
  hogs.push(hog);
  await once(hog, 'spawn');
  // Past Node's start-up (some 50 ms of CPU), it is in its loop: the core is busy from then on.
  await eventually(() => cpuMs(hog.pid!) > 200, 'the hog to compute');
  return hog;
}

/** echo-server on `CORE` beside a hog there, with `--log-level debug` to show every event. */
async function startBesideHog(env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<ServerProcess> {
  const hog = await startHog();
  const server = await startServerProcess(['--log-level', 'debug', ...args], { shellPrefix: `taskset -cp ${CORE} $$ > /dev/null`, env });
  expect([allowedCores(server.child.pid!), allowedCores(hog.pid!)]).toEqual([CORE, CORE]);
  return server;
}

function metricsBase(server: ServerProcess): string {
  const listening = server.logs.find((line) => line.msg === 'listening')!;
  return `http://127.0.0.1:${listening.metricsPort as number}`;
}

/** `echo_blocked_loop_events_total{cause="unscheduled"}`, as scraped now. */
const unscheduledCount = async (server: ServerProcess) => (await scrape(metricsBase(server))).get('echo_blocked_loop_events_total{cause="unscheduled"}');

const lines = (server: ServerProcess, msg: string) => server.logs.filter((line) => line.msg === msg);
const warnings = (server: ServerProcess) => server.logs.filter((line) => WARNINGS.includes(line.msg as string));

/** How long the stall-on-signal fixture held the loop, once it has said so on stderr. */
const held = (server: ServerProcess) => [...server.stderr().matchAll(/^held \S+ ([\d.]+) ms$/gm)].map((m) => Number(m[1]));

/** SIGTERM, then the exit code once every line the server wrote has been read. */
async function stop(server: ServerProcess): Promise<number> {
  const closed = once(server.child, 'close');
  server.child.kill('SIGTERM');
  const code = await server.exited;
  await closed;
  return code;
}

/** SIGUSR2 to a server with the stall-on-signal fixture; resolves with how long it held the loop. */
async function stallOnSignal(server: ServerProcess): Promise<number> {
  server.child.kill('SIGUSR2');
  await eventually(() => held(server).length === 1, "the fixture's measure of the stall");
  return held(server)[0]!;
}

describe('the blocked-loop detector with a CPU hog on the same core', () => {
  it('still names the task whose step computed for 300 ms', async () => {
    const server = await startBesideHog({ NODE_OPTIONS: `--import=${SLOW_WRITE}` });
    const socket = await connect(server.port);
    const reply = readBytes(socket, 5);
    socket.write('stall'); // its echo, STALL, spins in the task's own step
    expect((await reply).toString()).toBe('STALL');
    await eventually(() => lines(server, BY_TASK).length > 0, 'the warning naming the task');
    const spun = () => [...server.stderr().matchAll(/^spun ([\d.]+) ms$/gm)].map((m) => Number(m[1]));
    await eventually(() => spun().length === 1, "the fixture's measure of the stall");
    const [spunMs] = spun();
    const client = `conn 127.0.0.1:${socket.localPort}`;
    socket.destroy();
    expect(await stop(server)).toBe(0);
    expect(warnings(server)).toEqual([expect.objectContaining({ level: 40, msg: BY_TASK, task: client })]);
    expect(lines(server, BY_TASK)[0]!.blockedMs).toBeGreaterThanOrEqual(Math.floor(spunMs!));
  }, 60_000);

  it.each([
    ['computed for 300 ms', 'spin'],
    ['slept 300 ms in a blocking call', 'sleep'],
  ])('still reports a stretch outside any task that %s', async (_, stall) => {
    const server = await startBesideHog({ NODE_OPTIONS: `--import=${STALL_ON_SIGNAL}`, ECHO_TEST_STALL: stall });
    const heldMs = await stallOnSignal(server);
    await eventually(() => lines(server, OUTSIDE).length > 0, 'the outside warning');
    expect(await stop(server)).toBe(0);
    expect(warnings(server)).toEqual([expect.objectContaining({ level: 40, msg: OUTSIDE, task: null })]);
    // The gap between the beats around it, less one tick (25 ms).
    expect(lines(server, OUTSIDE)[0]!.blockedMs).toBeGreaterThanOrEqual(heldMs - 25 - 1);
  }, 60_000);

  it('counts a loop that waited for its own thread at nice 19, which the hog kept from the CPU, as unscheduled', async () => {
    // As the main thread waits for a lock that the metrics thread (nice 19) holds.
    const server = await startBesideHog({ NODE_OPTIONS: `--import=${STALL_ON_SIGNAL}`, ECHO_TEST_STALL: 'wait-for-thread' });
    const before = lines(server, UNSCHEDULED).length;
    await stallOnSignal(server);
    await eventually(() => lines(server, UNSCHEDULED).length > before, 'the unscheduled line');
    expect(await unscheduledCount(server)).toBeGreaterThanOrEqual(before + 1);
    expect(await stop(server)).toBe(0);
    expect(warnings(server)).toEqual([]);
    for (const line of lines(server, UNSCHEDULED)) {
      expect(line).toMatchObject({ level: 20, lateMs: expect.any(Number), ranMs: expect.any(Number), waitedMs: expect.any(Number), maxBlockingMs: 100 });
    }
  }, 60_000);

  it('counts a server that the hog keeps from the CPU as unscheduled, logged at debug, and warns of nothing', async () => {
    const server = await startBesideHog({}, ['--max-blocking', '50ms']);
    // Every thread of it at SCHED_IDLE (chrt -a): it runs only when the hog lets it, and its
    // timers run late while it does nothing. Measured here: gaps of about 50 ms between its
    // 25 ms timers, and one past 125 ms about once a second (at nice 19: 100 to 350 ms, a few
    // in 5 s). With a limit of 50 ms (a beat every 12 ms) that is several events a second.
    await run('chrt', ['--idle', '--all-tasks', '--pid', '0', String(server.child.pid)]);
    await eventually(() => lines(server, UNSCHEDULED).length >= 3, 'three unscheduled lines', 60_000);
    // Done starving it: it shuts down at its own pace, not the hog's.
    await stopHogs();
    const counted = await unscheduledCount(server);
    expect(await stop(server)).toBe(0);
    expect(warnings(server)).toEqual([]);
    expect(counted).toBeGreaterThanOrEqual(3);
    for (const line of lines(server, UNSCHEDULED) as Array<{ level: number; lateMs: number; ranMs: number; maxBlockingMs: number }>) {
      expect(line).toMatchObject({ level: 20, maxBlockingMs: 50 });
      expect(line.lateMs).toBeGreaterThan(50);
      // It ran for no more than the limit of the time: the rest it was kept waiting.
      expect(line.ranMs).toBeLessThanOrEqual(50);
    }
  }, 90_000);
});
