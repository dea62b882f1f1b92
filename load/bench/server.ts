/**
 * Server benchmark (not a test): echo-server against a bare `net` echo server, in the same
 * run, alternating, and prints ratios (the machines are shared and noisy: only ratios within
 * one run mean anything).
 *
 * - throughput: CLIENTS connections ping-pong SIZE-byte messages; server on core 0, client on
 *   core 1 where `taskset` exists. Reports messages/s and the server's CPU time per message for
 *   the bare server, echo-server with `--no-metrics`, and echo-server with its defaults (metrics
 *   and blocked-loop detector) scraped once a second.
 * - memory: IDLE connections held open; reports the server's resident memory per connection.
 *
 * Usage: npm run bench -- [--duration 5s] [--rounds 3] [--clients 500] [--idle 10000] [--only throughput|memory]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../src/parse-option.js';

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
    duration: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '1s' },
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
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

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

/** Fetches /metrics once a second, as a Prometheus would, until stopped. */
function scrapeEverySecond(port: number): () => void {
  const timer = setInterval(() => {
    fetch(`http://127.0.0.1:${port}/metrics`)
      .then((response) => response.text())
      .catch(() => {});
  }, 1000);
  return () => clearInterval(timer);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function cpuSeconds(pid: number): number {
  // Fields after the command name: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
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

async function throughput(name: ServerName, size: number): Promise<ThroughputSample> {
  const server = await startServer(name);
  const warmupMs = parseDuration(args.warmup!);
  const durationMs = parseDuration(args.duration!);
  const client = launchProgram(
    [...PING_CLIENT.command, String(server.port), args.clients!, String(size), String(warmupMs), String(durationMs)],
    1,
  );
  const stopScraping = server.metricsPort === undefined ? () => {} : scrapeEverySecond(server.metricsPort);
  // Sample the server's CPU time over the same window the client counts.
  const cpuStart = new Promise<number>((resolve) => setTimeout(() => resolve(cpuSeconds(server.child.pid!)), warmupMs));
  const result = await firstLine(client, (line) => JSON.parse(line) as { messages: number; seconds: number; errors: number }, warmupMs + durationMs + 30_000);
  const cpu = cpuSeconds(server.child.pid!) - (await cpuStart);
  stopScraping();
  await stop(client);
  await stop(server.child);
  if (result.errors > 0) throw new Error(`${name}: ${result.errors} client errors`);
  return { rate: result.messages / result.seconds, cpuPerMessageUs: (cpu / result.messages) * 1e6 };
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
    `server benchmark: ${args.clients} clients, ${args.duration} x ${rounds} rounds, ` +
      `${PING_CLIENT.kind} client, taskset: ${hasTaskset ? 'yes' : 'no'}`,
  );
  if (args.only !== 'memory') {
    for (const size of [64, 1024]) {
      const samples: Record<ServerName, ThroughputSample[]> = { bare: [], echo: [], metrics: [] };
      for (let round = 0; round < rounds; round++) {
        // Rotate the order so that drift in the machine's load hits all alike.
        const names: ServerName[] = ['bare', 'echo', 'metrics'];
        for (let i = 0; i < names.length; i++) {
          const name = names[(i + round) % names.length]!;
          samples[name].push(await throughput(name, size));
        }
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
