/**
 * Client benchmark (not a test): how echo-load's message rate compares with the minimal
 * hand-written client's, against the same bare `net` echo server (bare-server.ts).
 *
 *   npm run bench:client                       # 3 rounds of 5 s, 500 connections, 64 B
 *   node dist/load/bench/client.js --rounds 1 --seconds 2
 *
 * Part 1, same core: the server runs on core 1, each client in turn on core 0 (taskset), in
 * alternating order. Goal: echo-load --workers 1 >= 0.95 x the minimal client, although it
 * checks every byte and records every latency.
 * Part 2, --workers 2 on both cores next to the server: the server's one thread should be the
 * saturated one (CPU close to 100% of a core) while echo-load still has room.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const SERVER = here('./bare-server.js');
const MINIMAL = here('./minimal-client.js');
const LOAD = here('../cli.js');

const program = new Command()
  .option('--rounds <n>', 'alternating rounds', '3')
  .option('--seconds <n>', 'measured seconds per run', '5')
  .option('--clients <n>', 'connections', '500')
  .option('--size <bytes>', 'bytes per message', '64')
  .parse();
const opts = program.opts<{ rounds: string; seconds: string; clients: string; size: string }>();
const rounds = Number(opts.rounds);
const seconds = Number(opts.seconds);
const clients = Number(opts.clients);
const size = Number(opts.size);
const WARMUP_MS = 1000;

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();
const pinned = (core: number | undefined, args: string[]) =>
  core !== undefined && hasTaskset ? ['taskset', ['-c', String(core), process.execPath, ...args]] as const : [process.execPath, args] as const;

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

interface Measured {
  /** Messages per second over the client's own measured window. */
  rate: number;
  /** CPU used while measuring, in cores (1 = one core busy all the time). */
  clientCpu: number;
  serverCpu: number;
}

/**
 * Runs one client to the end; meanwhile samples its CPU and the server's over the measured
 * window (from 0.5 s after the warm-up to 0.5 s before the end).
 */
async function measure(core: number | undefined, args: string[], serverPid: number, rateOf: (out: string) => number): Promise<Measured> {
  const [command, argv] = pinned(core, args);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await sleep(WARMUP_MS + 500);
  // With taskset the child's pid is taskset's, which exec()s node: the same process.
  const from = { at: performance.now(), client: cpuSeconds(child.pid!), server: cpuSeconds(serverPid) };
  await sleep(seconds * 1000 - 1000);
  const wall = (performance.now() - from.at) / 1000;
  const clientCpu = (cpuSeconds(child.pid!) - from.client) / wall;
  const serverCpu = (cpuSeconds(serverPid) - from.server) / wall;
  const code = await closed;
  if (code !== 0) throw new Error(`${args[0]} exited ${code}: ${out}`);
  return { rate: rateOf(out), clientCpu, serverCpu };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer(core: number | undefined): Promise<{ port: number; pid: number; stop: () => void }> {
  const [command, argv] = pinned(core, [SERVER, '0']);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      const match = /listening (\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
  });
  return { port, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

function minimal(core: number | undefined, port: number, serverPid: number): Promise<Measured> {
  const args = [MINIMAL, String(port), String(clients), String(size), String(WARMUP_MS), String(seconds * 1000)];
  return measure(core, args, serverPid, (out) => {
    const result = JSON.parse(out) as { messages: number; seconds: number };
    return result.messages / result.seconds;
  });
}

function echoLoad(core: number | undefined, port: number, serverPid: number, workers: number): Promise<Measured> {
  const args = [LOAD, '--port', String(port), '--clients', String(clients), '--size', String(size), '--workers', String(workers)];
  args.push('--warmup', `${WARMUP_MS}ms`, '--duration', `${seconds}s`, '--json', '--no-progress');
  return measure(core, args, serverPid, (out) => {
    const result = JSON.parse(out) as { errors: number; requests: { average: number } };
    if (result.errors !== 0) throw new Error(`echo-load reported ${result.errors} errors`);
    return result.requests.average;
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const describe = (name: string, m: Measured) =>
  `${name} ${fmt(m.rate)} msg/s, ${((m.clientCpu * 1e6) / m.rate).toFixed(2)} CPU-us/msg (client ${(m.clientCpu * 100).toFixed(0)}%, server ${(m.serverCpu * 100).toFixed(0)}%)`;
console.log(`client benchmark: ${clients} connections, ${size} B, ${rounds} rounds of ${seconds} s${hasTaskset ? '' : ' (no taskset: not pinned)'}`);

// Part 1: server on core 1, each client in turn on core 0.
const server = await startServer(1);
const rateRatios: number[] = [];
const cpuRatios: number[] = [];
let workers1 = 0;
try {
  for (let round = 1; round <= rounds; round++) {
    // Alternate the order so that drift on a shared machine favours neither client.
    const minimalFirst = round % 2 === 1;
    const first = minimalFirst ? await minimal(0, server.port, server.pid) : await echoLoad(0, server.port, server.pid, 1);
    const second = minimalFirst ? await echoLoad(0, server.port, server.pid, 1) : await minimal(0, server.port, server.pid);
    const [base, load] = minimalFirst ? [first, second] : [second, first];
    workers1 = load.rate;
    rateRatios.push(load.rate / base.rate);
    // CPU per message: how much of a core each client spends per message (lower is better).
    cpuRatios.push(load.clientCpu / load.rate / (base.clientCpu / base.rate));
    console.log(`round ${round}: ${describe('minimal', base)}`);
    console.log(`         ${describe('echo-load --workers 1', load)}; rate ratio ${(load.rate / base.rate).toFixed(3)}`);
  }
} finally {
  server.stop();
}
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)]!;
console.log(`same core: echo-load / minimal message rate = ${median(rateRatios).toFixed(3)} (median of ${rounds}; goal >= 0.95)`);
console.log(`           echo-load / minimal CPU per message = ${median(cpuRatios).toFixed(3)} (median; < 1 means echo-load is cheaper)`);

// Part 2: nothing pinned, two workers next to the server on two cores: which is saturated?
const free = await startServer(undefined);
try {
  const two = await echoLoad(undefined, free.port, free.pid, 2);
  console.log(`--workers 2, unpinned: ${describe('echo-load', two)}; ${(two.rate / workers1).toFixed(2)} x --workers 1 on one core`);
  console.log(
    two.serverCpu >= 0.9
      ? `  the server's one thread is saturated (${(two.serverCpu * 100).toFixed(0)}% of a core): the server, not echo-load, limits this run`
      : `  the server is at ${(two.serverCpu * 100).toFixed(0)}% of a core: on two shared cores neither side is saturated alone`,
  );
} finally {
  free.stop();
}
