/**
 * Server benchmark (not a test): echo-server against a bare `net` echo server, in the same
 * run, alternating, and prints ratios (the machines are shared and noisy: only ratios within
 * one run mean anything).
 *
 * - throughput: CLIENTS connections ping-pong SIZE-byte messages; servers on core 0, clients on
 *   core 1 where `taskset` exists, all servers taking turns. Reports messages/s and the server's
 *   CPU time per message for the bare server; echo-server with nothing watching it (`--no-metrics
 *   --max-blocking 0`); with the blocked-loop detector (`--no-metrics`); and with its defaults
 *   (metrics and detector), scraped once a second. Each watching layer is compared with the one
 *   below it, so its own cost shows.
 * - memory: IDLE connections held open; reports the server's resident memory per connection.
 *
 * Usage: npm run bench -- [--duration 1s] [--rounds 3] [--clients 500] [--idle 10000] [--only throughput|memory]
 *   (--duration is the measured length of one turn; see throughputInTurns)
 */
import { OptionError } from '../src/parse-option.js';
import {
  BARE_SERVER, built, bytesWritten, Child, count, cpuSeconds, duration, ECHO_SERVER, hasTaskset,
  median, pingClient, readOptions, runBenchmark, type RunningServer, sleep,
  startServer as launchServer, takeTurns,
} from './harness/index.js';

const SERVERS = {
  bare: [BARE_SERVER, '0'],
  echo: [ECHO_SERVER, '--port', '0', '--log-level', 'info', '--no-metrics', '--max-blocking', '0'],
  watched: [ECHO_SERVER, '--port', '0', '--log-level', 'info', '--no-metrics'],
  // Defaults (metrics and the blocked-loop detector on), scraped once a second during the run.
  metrics: [ECHO_SERVER, '--port', '0', '--log-level', 'info', '--metrics-port', '0'],
};
type ServerName = keyof typeof SERVERS;

const args = readOptions('npm run bench -- [options]', {
  duration: { help: 'measured length of one turn', default: '1s' },
  rounds: { help: 'rounds (each a median input)', default: '3' },
  clients: { help: 'ping-pong connections', default: '500' },
  idle: { help: 'idle connections for the memory figure', default: '10000' },
  only: { help: 'throughput or memory' },
}, (o) => {
  if (o.only !== undefined && o.only !== 'throughput' && o.only !== 'memory') throw new OptionError(`--only must be throughput or memory (got '${o.only}')`);
  return { turnMs: duration(o.duration, 'duration'), turn: o.duration, rounds: count(o.rounds, 'rounds'), clients: count(o.clients, 'clients'), idle: count(o.idle, 'idle'), only: o.only };
});

const PING_CLIENT = pingClient();

/** Starts a server (a Node.js script) on core 0. */
function startServer(name: ServerName, nodeFlags: string[] = []): Promise<RunningServer> {
  return launchServer([process.execPath, ...nodeFlags, ...SERVERS[name]], { core: 0 });
}

/** Asks a server started with the GC probe to collect garbage and report its memory. */
async function memoryAfterGc(child: Child): Promise<{ rss: number; heap: number }> {
  const reply = child.line((line) => /^memory (\d+) (\d+)$/.exec(line) ?? undefined);
  child.signal('SIGUSR2');
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
  client: Child;
  messages: number;
  seconds: number;
  serverCpu: number;
}

/**
 * All servers run at once, each with its own client, and take turns: only one pair runs, the
 * others are frozen (SIGSTOP), in the order A B C C B A ... (see harness/turns.ts). Messages are
 * counted from the bytes each server wrote (/proc/PID/io), which costs neither side anything.
 * A server with metrics is scraped once during each of its turns (one scrape a second of its
 * running time).
 */
async function throughputInTurns(size: number, turns: number, turnMs: number): Promise<Record<ServerName, ThroughputSample>> {
  const names = Object.keys(SERVERS) as ServerName[];
  const pairs: Pair[] = [];
  const both = (pair: Pair, act: (child: Child) => void) => [pair.client, pair.server.child].forEach(act);
  try {
    for (const name of names) {
      const server = await startServer(name);
      const client = new Child([...PING_CLIENT.command, String(server.port), String(args.clients), String(size), '0', '86400000'], { core: 1 });
      pairs.push({ name, server, client, messages: 0, seconds: 0, serverCpu: 0 });
      await sleep(1000); // all connections up and warm
      both(pairs.at(-1)!, (child) => child.freeze());
    }
    await takeTurns(pairs, {
      turns,
      turnMs,
      settleMs: 200, // the backlog of the frozen time is answered first
      start: (pair) => both(pair, (child) => child.thaw()),
      stop: (pair) => both(pair, (child) => child.freeze()),
      measure: (pair) => {
        if (pair.server.metricsPort !== undefined) {
          void fetch(`http://127.0.0.1:${pair.server.metricsPort}/metrics`).then((r) => r.text(), () => {});
        }
        const pid = pair.server.child.pid;
        const from = { at: performance.now(), bytes: bytesWritten(pid), cpu: cpuSeconds(pid) };
        return () => {
          pair.seconds += (performance.now() - from.at) / 1000;
          pair.messages += (bytesWritten(pid) - from.bytes) / size;
          pair.serverCpu += cpuSeconds(pid) - from.cpu;
        };
      },
    });
  } finally {
    for (const pair of pairs) {
      await pair.client.stop();
      await pair.server.child.stop();
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
  const server = await startServer(name, ['--expose-gc', '--import', built('harness/gc-probe.js')]);
  await sleep(500);
  const before = await memoryAfterGc(server.child);
  const client = new Child([process.execPath, built('loads/idle-client.js'), String(server.port), String(connections)], { core: 1 });
  const failed = await client.line((line) => /^connected \d+ failed (\d+)$/.exec(line)?.[1], 120_000);
  if (Number(failed) > 0) throw new Error(`${name}: ${failed} idle connections failed`);
  await sleep(1000); // let the server take them all
  const after = await memoryAfterGc(server.child);
  await client.stop();
  await server.child.stop();
  return { rss: (after.rss - before.rss) / connections, heap: (after.heap - before.heap) / connections };
}

async function main(): Promise<void> {
  const rounds = args.rounds;
  console.log(
    `server benchmark: ${args.clients} clients, turns of ${args.turn}, 4 turns per server x ${rounds} rounds, ` +
      `${PING_CLIENT.kind} client, taskset: ${hasTaskset ? 'yes' : 'no'}`,
  );
  if (args.only !== 'memory') {
    for (const size of [64, 1024]) {
      const samples: Record<ServerName, ThroughputSample[]> = { bare: [], echo: [], watched: [], metrics: [] };
      for (let round = 0; round < rounds; round++) {
        const result = await throughputInTurns(size, 4, args.turnMs);
        for (const name of Object.keys(samples) as ServerName[]) samples[name].push(result[name]);
      }
      const rate = (n: ServerName) => median(samples[n].map((s) => s.rate));
      const cpu = (n: ServerName) => median(samples[n].map((s) => s.cpuPerMessageUs));
      const line = (n: ServerName) => `${n} ${rate(n).toFixed(0)} msg/s ${cpu(n).toFixed(2)} µs CPU/msg`;
      const ratios = (a: ServerName, b: ServerName) =>
        `throughput ${(rate(a) / rate(b)).toFixed(3)}, CPU/msg ${(cpu(a) / cpu(b)).toFixed(3)}`;
      console.log(`${String(size).padStart(5)} B  ${line('bare')} | ${line('echo')} | ${line('watched')} | ${line('metrics')}`);
      console.log(`         echo / bare: ${ratios('echo', 'bare')}`);
      console.log(`         detector on / off: ${ratios('watched', 'echo')};  metrics scraped 1/s / none: ${ratios('metrics', 'watched')}`);
    }
  }
  if (args.only !== 'throughput') {
    const idle = args.idle;
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

runBenchmark('bench', main);
