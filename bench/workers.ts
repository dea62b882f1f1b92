/**
 * `--workers` benchmark (not a test), on a Node.js with SO_REUSEPORT (this one, or the 22
 * that `npm test` keeps in node_modules/.cache, installed here if missing):
 *
 * - memory at rest: what one more worker costs, as a process (`--workers 2`: each worker's
 *   resident and proportional set, PSS counting shared pages once) and as a thread of one
 *   process (thread-workers.ts: the resident growth from one thread to two).
 * - CPU per message: `--workers 1` and `--workers 2` (all on both cores, the ping-pong client
 *   too), alternating turns, frozen when not their turn; CPU summed over every process of the
 *   server, messages from the bytes its workers wrote.
 * - balance: CONNECTIONS idle connections to `--workers 2`; each worker's share, from the
 *   primary's /metrics (echo_worker_connections_active).
 *
 * Usage: npm run bench:workers -- [--duration 1s] [--rounds 3] [--clients 500] [--connections 1000]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { checkWorkersNode, workersNode } from '../scripts/test-tools.js';
import {
  built, bytesWritten, Child, count, cpuSeconds, duration, ECHO_SERVER, median, pingClient,
  readOptions, runBenchmark, type RunningServer, sleep, startServer, takeTurns,
} from './harness/index.js';

const args = readOptions('npm run bench:workers -- [options]', {
  duration: { help: 'measured length of one turn', default: '1s' },
  rounds: { help: 'rounds (each a median input)', default: '3' },
  clients: { help: 'ping-pong connections', default: '500' },
  connections: { help: 'idle connections for the balance figure', default: '1000' },
}, (o) => ({ turnMs: duration(o.duration, 'duration'), turn: o.duration, rounds: count(o.rounds, 'rounds'), clients: count(o.clients, 'clients'), connections: count(o.connections, 'connections') }));

const SIZE = 64;
const PING_CLIENT = pingClient();

/** The server's processes: the primary's children when there is a primary, else itself. */
function serverPids(server: RunningServer, workers: number): number[] {
  if (workers === 1) return [server.child.pid];
  const children = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim().split(' ').map(Number);
  return [server.child.pid, ...children];
}

/** Resident and proportional set size of a process, in bytes (/proc/PID/smaps_rollup). */
function memory(pid: number): { rss: number; pss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)![1]) * 1024;
  return { rss: kib('Rss'), pss: kib('Pss') };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * echo-server with `workers`, once all listen: with more than one, at the primary's
 * `listening` line (it names the workers; theirs come first).
 */
async function startWorkers(node: string, workers: number, metrics = false): Promise<RunningServer> {
  const argv = [node, ECHO_SERVER, '--port', '0', '--workers', String(workers), '--log-level', 'info', ...(metrics ? ['--metrics-port', '0'] : ['--no-metrics'])];
  if (workers === 1) return startServer(argv);
  const child = new Child(argv);
  const entry = await child.line((line) => (line.includes('"msg":"listening"') && line.includes('"workers":') ? (JSON.parse(line) as { port: number; metricsPort: number | null }) : undefined));
  return { child, port: entry.port, metricsPort: entry.metricsPort ?? undefined };
}

async function restingMemory(node: string): Promise<void> {
  const processes = await startWorkers(node, 2);
  await sleep(2000);
  const [primary, ...workers] = serverPids(processes, 2).map(memory);
  await processes.child.stop();
  const threads: Array<{ rss: number; pss: number }> = [];
  for (const n of [1, 2]) {
    const server = await startServer([node, built('contenders/thread-workers.js'), String(n)]);
    await sleep(2000);
    threads.push(memory(server.child.pid));
    await server.child.stop();
  }
  const perProcess = median(workers.map((w) => w.pss));
  const perThread = threads[1]!.rss - threads[0]!.rss;
  console.log(
    `memory at rest: a worker process ${mib(median(workers.map((w) => w.rss)))} resident, ${mib(perProcess)} PSS ` +
      `(the primary ${mib(primary!.pss)} PSS); a worker thread adds ${mib(perThread)} resident ` +
      `(one thread ${mib(threads[0]!.rss)}, two ${mib(threads[1]!.rss)}); process / thread ${(perProcess / perThread).toFixed(2)}`,
  );
}

interface Contender {
  workers: number;
  server: RunningServer;
  client: Child;
  pids: number[];
  messages: number;
  cpu: number;
  seconds: number;
}

/** Stops or continues every process of a contender: its client, its primary, its workers. */
function signalAll(contender: Contender, signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of [contender.client.pid, ...contender.pids]) process.kill(pid, signal);
}

async function cpuPerMessage(node: string): Promise<{ one: number; two: number; rateOne: number; rateTwo: number }> {
  const contenders: Contender[] = [];
  const samples = { one: [] as number[], two: [] as number[], rateOne: [] as number[], rateTwo: [] as number[] };
  for (let round = 0; round < args.rounds; round++) {
    try {
      for (const workers of [1, 2]) {
        const server = await startWorkers(node, workers);
        const client = new Child([...PING_CLIENT.command, String(server.port), String(args.clients), String(SIZE), '0', '86400000']);
        await sleep(1500); // every connection up and warm
        const contender: Contender = { workers, server, client, pids: serverPids(server, workers), messages: 0, cpu: 0, seconds: 0 };
        contenders.push(contender);
        signalAll(contender, 'SIGSTOP');
      }
      await takeTurns(contenders, {
        turns: 4,
        turnMs: args.turnMs,
        settleMs: 200,
        start: (c) => signalAll(c, 'SIGCONT'),
        stop: (c) => signalAll(c, 'SIGSTOP'),
        measure: (c) => {
          const writers = c.workers === 1 ? c.pids : c.pids.slice(1);
          const bytes = () => writers.reduce((sum, pid) => sum + bytesWritten(pid), 0);
          const cpu = () => c.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
          const from = { bytes: bytes(), cpu: cpu(), at: performance.now() };
          return () => {
            c.messages += (bytes() - from.bytes) / SIZE;
            c.cpu += cpu() - from.cpu;
            c.seconds += (performance.now() - from.at) / 1000;
          };
        },
      });
      const [one, two] = contenders as [Contender, Contender];
      samples.one.push((one.cpu / one.messages) * 1e6);
      samples.two.push((two.cpu / two.messages) * 1e6);
      samples.rateOne.push(one.messages / one.seconds);
      samples.rateTwo.push(two.messages / two.seconds);
    } finally {
      for (const c of contenders.splice(0)) {
        signalAll(c, 'SIGCONT');
        await c.client.stop();
        await c.server.child.stop();
      }
    }
  }
  return { one: median(samples.one), two: median(samples.two), rateOne: median(samples.rateOne), rateTwo: median(samples.rateTwo) };
}

async function balance(node: string): Promise<void> {
  const server = await startWorkers(node, 2, true);
  const client = new Child([node, built('loads/idle-client.js'), String(server.port), String(args.connections)]);
  const failed = await client.line((line) => /^connected \d+ failed (\d+)$/.exec(line)?.[1], 60_000);
  await sleep(1000);
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort!}/metrics`)).text();
  const shares = [...text.matchAll(/^echo_worker_connections_active\{worker="(\d+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
  await client.stop();
  await server.child.stop();
  const [low, high] = [Math.min(...shares), Math.max(...shares)];
  console.log(`balance at ${args.connections} connections (${failed} failed): workers hold ${shares.join(' and ')}; most / fewest ${(high / low).toFixed(3)}`);
}

async function main(): Promise<void> {
  if (checkWorkersNode() !== 0) throw new Error('no Node.js with SO_REUSEPORT to run --workers on');
  const node = workersNode();
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`workers benchmark on Node.js ${version.slice(1)}: ${args.clients} ping-pong clients of ${SIZE} B (${PING_CLIENT.kind}), turns of ${args.turn}, ${args.rounds} rounds`);
  await restingMemory(node);
  const cpu = await cpuPerMessage(node);
  console.log(
    `CPU per message: 1 worker ${cpu.one.toFixed(2)} µs, 2 workers ${cpu.two.toFixed(2)} µs (primary included); 2 / 1 ${(cpu.two / cpu.one).toFixed(3)}; ` +
      `throughput 2 / 1 ${(cpu.rateTwo / cpu.rateOne).toFixed(3)} (${cpu.rateOne.toFixed(0)} and ${cpu.rateTwo.toFixed(0)} msg/s)`,
  );
  await balance(node);
}

runBenchmark('bench:workers', main);
