/**
 * Server benchmark (not a test): echo-server against a bare `net` echo server, in the same
 * run, alternating, and prints ratios (the machines are shared and noisy: only ratios within
 * one run mean anything).
 *
 * - throughput: CLIENTS connections ping-pong SIZE-byte messages; servers on core 0, clients on
 *   core 1 where `taskset` exists, all servers taking turns. Reports messages/s and the server's CPU time per message for
 *   the bare server, echo-server with `--no-metrics`, and echo-server with its defaults (metrics
 *   and blocked-loop detector) scraped once a second.
 * - memory: IDLE connections held open; reports the server's resident memory per connection.
 *
 * Usage: npm run bench -- [--duration 1s] [--rounds 3] [--clients 500] [--idle 10000] [--only throughput|memory]
 *   (--duration is the measured length of one turn; see throughputInTurns)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../src/parse-option.js';
import { bytesWritten, cpuSeconds } from './proc.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const SERVERS = {
  bare: [here('./bare-server.js'), '0'],
  echo: [here('../../src/cli/echo-server.js'), '--port', '0', '--log-level', 'info', '--no-metrics'],
  // Defaults (metrics and the blocked-loop detector on), scraped once a second during the run.
  metrics: [here('../../src/cli/echo-server.js'), '--port', '0', '--log-level', 'info', '--metrics-port', '0'],
};
type ServerName = keyof typeof SERVERS;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '1s' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '500' },
    idle: { type: 'string', default: '10000' },
    only: { type: 'string' },
  },
});
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/**
 * The load: the C client (compiled here) when a C compiler exists, since a Node.js client
 * costs about as much per message as the server and would saturate its core first; otherwise
 * the Node.js client, and the throughput ratio then says little (CPU per message still does).
 */
function pingClient(): { command: string[]; kind: string } {
  const source = fileURLToPath(new URL('../../../load/bench/ping-client.c', import.meta.url));
  const binary = fileURLToPath(new URL('../../../.bench/ping-client', import.meta.url));
  mkdirSync(dirname(binary), { recursive: true });
  const compiled = spawnSync('cc', ['-O2', '-o', binary, source], { stdio: 'inherit' }).status === 0;
  if (compiled) return { command: [binary], kind: 'C' };
  return { command: [process.execPath, here('./ping-client.js')], kind: 'Node.js' };
}
const PING_CLIENT = pingClient();

/** Starts a Node.js script pinned to `core`, with room for many descriptors. */
function launch(command: string[], core: number, nodeFlags: string[] = []): ChildProcess {
  return launchProgram([process.execPath, ...nodeFlags, ...command], core);
}

function launchProgram(argv: string[], core: number): ChildProcess {
  const pin = hasTaskset ? `taskset -c ${core} ` : '';
  const line = `ulimit -n $(ulimit -Hn); exec ${pin}${argv.map((a) => `'${a}'`).join(' ')}`;
  return spawn('bash', ['-c', line], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Resolves with the first stdout line that `match` accepts (returning a value). */
function firstLine<T>(child: ChildProcess, match: (line: string) => T | undefined, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer from child process')), timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const value = match(line);
      if (value === undefined) return;
      clearTimeout(timer);
      resolve(value);
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  metricsPort: number | undefined;
}

async function startServer(name: ServerName, nodeFlags: string[] = []): Promise<RunningServer> {
  const child = launch(SERVERS[name], 0, nodeFlags);
  return firstLine(child, (line): RunningServer | undefined => {
    const bare = /^listening (\d+)$/.exec(line);
    if (bare) return { child, port: Number(bare[1]), metricsPort: undefined };
    if (!line.includes('"msg":"listening"')) return undefined;
    const entry = JSON.parse(line) as { port: number; metricsPort?: number | null };
    return { child, port: entry.port, metricsPort: entry.metricsPort ?? undefined };
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Asks a server started with the GC probe to collect garbage and report its memory. */
async function memoryAfterGc(child: ChildProcess): Promise<{ rss: number; heap: number }> {
  const reply = firstLine(child, (line) => /^memory (\d+) (\d+)$/.exec(line) ?? undefined);
  child.kill('SIGUSR2');
  const [, rss, heap] = await reply;
  return { rss: Number(rss), heap: Number(heap) };
}

interface ThroughputSample {
  rate: number;
  cpuPerMessageUs: number;
}

/** A server and the client that loads it: they run, or are frozen, together. */
interface Pair {
  name: ServerName;
  server: RunningServer;
  client: ChildProcess;
  messages: number;
  seconds: number;
  serverCpu: number;
}

const signalBoth = (pair: Pair, signal: NodeJS.Signals) => {
  pair.client.kill(signal);
  pair.server.child.kill(signal);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * All servers run at once, each with its own client, and take turns: only one pair runs, the
 * others are frozen (SIGSTOP), in the order A B C C B A ... so that drift favours none. On this
 * kind of machine (a VM on a shared host) the echo loop slows by up to 1.5x for seconds at a
 * time; runs one after the other land in different stretches, turns put every server in the
 * same ones. Messages are counted from the bytes each server wrote (/proc/PID/io), which costs
 * neither side anything. A server with metrics is scraped once during each of its turns (one
 * scrape a second of its running time).
 */
async function throughputInTurns(size: number, turns: number, turnMs: number): Promise<Record<ServerName, ThroughputSample>> {
  const names = Object.keys(SERVERS) as ServerName[];
  const pairs: Pair[] = [];
  try {
    for (const name of names) {
      const server = await startServer(name);
      const client = launchProgram([...PING_CLIENT.command, String(server.port), args.clients!, String(size), '0', '86400000'], 1);
      pairs.push({ name, server, client, messages: 0, seconds: 0, serverCpu: 0 });
      await sleep(1000); // all connections up and warm
      signalBoth(pairs.at(-1)!, 'SIGSTOP');
    }
    const order = [...pairs, ...[...pairs].reverse()];
    for (let turn = 0; turn < turns * pairs.length; turn++) {
      const pair = order[turn % order.length]!;
      signalBoth(pair, 'SIGCONT');
      await sleep(200); // settle: the backlog of the frozen time is answered first
      if (pair.server.metricsPort !== undefined) {
        void fetch(`http://127.0.0.1:${pair.server.metricsPort}/metrics`).then((r) => r.text(), () => {});
      }
      const pid = pair.server.child.pid!;
      const from = { at: performance.now(), bytes: bytesWritten(pid), cpu: cpuSeconds(pid) };
      await sleep(turnMs);
      pair.seconds += (performance.now() - from.at) / 1000;
      pair.messages += (bytesWritten(pid) - from.bytes) / size;
      pair.serverCpu += cpuSeconds(pid) - from.cpu;
      signalBoth(pair, 'SIGSTOP');
    }
  } finally {
    for (const pair of pairs) {
      signalBoth(pair, 'SIGCONT');
      await stop(pair.client);
      await stop(pair.server.child);
    }
  }
  const result = {} as Record<ServerName, ThroughputSample>;
  for (const pair of pairs) {
    result[pair.name] = { rate: pair.messages / pair.seconds, cpuPerMessageUs: (pair.serverCpu / pair.messages) * 1e6 };
  }
  return result;
}

/** Memory per idle connection, after a GC before and after the connections are opened. */
async function idleMemory(name: ServerName, connections: number): Promise<{ rss: number; heap: number }> {
  const server = await startServer(name, ['--expose-gc', '--import', here('./gc-probe.js')]);
  await new Promise((r) => setTimeout(r, 500));
  const before = await memoryAfterGc(server.child);
  const client = launch([here('./idle-client.js'), String(server.port), String(connections)], 1);
  const failed = await firstLine(client, (line) => /^connected \d+ failed (\d+)$/.exec(line)?.[1], 120_000);
  if (Number(failed) > 0) throw new Error(`${name}: ${failed} idle connections failed`);
  await new Promise((r) => setTimeout(r, 1000)); // let the server take them all
  const after = await memoryAfterGc(server.child);
  await stop(client);
  await stop(server.child);
  return { rss: (after.rss - before.rss) / connections, heap: (after.heap - before.heap) / connections };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const rounds = Number(args.rounds);
  console.log(
    `server benchmark: ${args.clients} clients, turns of ${args.duration}, 4 turns per server x ${rounds} rounds, ` +
      `${PING_CLIENT.kind} client, taskset: ${hasTaskset ? 'yes' : 'no'}`,
  );
  if (args.only !== 'memory') {
    for (const size of [64, 1024]) {
      const samples: Record<ServerName, ThroughputSample[]> = { bare: [], echo: [], metrics: [] };
      for (let round = 0; round < rounds; round++) {
        const result = await throughputInTurns(size, 4, parseDuration(args.duration!));
        for (const name of Object.keys(samples) as ServerName[]) samples[name].push(result[name]);
      }
      const rate = (n: ServerName) => median(samples[n].map((s) => s.rate));
      const cpu = (n: ServerName) => median(samples[n].map((s) => s.cpuPerMessageUs));
      const line = (n: ServerName) => `${n} ${rate(n).toFixed(0)} msg/s ${cpu(n).toFixed(2)} µs CPU/msg`;
      const ratios = (a: ServerName, b: ServerName) =>
        `throughput ${(rate(a) / rate(b)).toFixed(3)}, CPU/msg ${(cpu(a) / cpu(b)).toFixed(3)}`;
      console.log(`${String(size).padStart(5)} B  ${line('bare')} | ${line('echo')} | ${line('metrics')}`);
      console.log(`         echo / bare: ${ratios('echo', 'bare')};  metrics scraped 1/s / no metrics: ${ratios('metrics', 'echo')}`);
    }
  }
  if (args.only !== 'throughput') {
    const idle = Number(args.idle);
    const bare = await idleMemory('bare', idle);
    const echo = await idleMemory('metrics', idle); // echo-server with its defaults
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
    console.log(
      `idle memory at ${idle} connections, after GC, per connection: ` +
        `bare ${kib(bare.rss)} resident (${kib(bare.heap)} JS heap), ` +
        `echo ${kib(echo.rss)} resident (${kib(echo.heap)} JS heap), resident ratio ${(echo.rss / bare.rss).toFixed(3)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
