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
 * - memory: IDLE connections held open; reports the server's resident memory per connection,
 *   and echo-load's per connection it holds (loadMemory), against the server's.
 *
 * With `--baseline <checkout>` (another built checkout of this project) that checkout's
 * echo-server joins as `baseline-echo`: in the throughput turns with `echo`'s arguments, in
 * the memory figure with its defaults as `echo` there; the ratios then include echo /
 * baseline-echo, before and after a change in the same run.
 *
 * Usage: npm run bench -- [--duration 1s] [--rounds 3] [--clients 500] [--idle 10000] [--only throughput|memory] [--baseline DIR]
 *   (--duration is the measured length of one turn; see throughputInTurns)
 */
import { existsSync } from 'node:fs';
import { OptionError } from '../src/parse-option.js';
import {
  activeConnections, BARE_SERVER, baselineCheckout, built, bytesWritten, type Checkout, Child, count, cpuSeconds,
  duration, ECHO_LOAD, ECHO_SERVER, GC_PROBE_FLAGS, hasTaskset, median, memoryAfterGc, perConnection, pingClient, readOptions, runBenchmark,
  type RunningServer, sleep, startServer as launchServer, takeTurns,
} from './harness/index.js';

const ECHO = ['--port', '0', '--log-level', 'info'];
/** echo-server's set-ups, each with one watching layer more than the one before. */
const SETUPS = {
  echo: [...ECHO, '--no-metrics', '--max-blocking', '0'],
  watched: [...ECHO, '--no-metrics'],
  // Defaults (metrics and the blocked-loop detector on), scraped once a second during the run.
  metrics: [...ECHO, '--metrics-port', '0'],
};

/** The servers of a run, by name in turn order: a Node.js script and its arguments each. */
type Servers = ReadonlyMap<string, readonly string[]>;

/** The baseline's echo-server runs with `echo`'s arguments, next to this checkout's. */
function throughputServers(baseline: Checkout | undefined): Servers {
  return new Map([
    ['bare', [BARE_SERVER, '0']],
    ['echo', [ECHO_SERVER, ...SETUPS.echo]],
    ...(baseline === undefined ? [] : [['baseline-echo', [baseline.echoServer, ...SETUPS.echo]] as const]),
    ['watched', [ECHO_SERVER, ...SETUPS.watched]],
    ['metrics', [ECHO_SERVER, ...SETUPS.metrics]],
  ]);
}

const args = readOptions('npm run bench -- [options]', {
  duration: { help: 'measured length of one turn', default: '1s' },
  rounds: { help: 'rounds (each a median input; the memory figures too)', default: '3' },
  clients: { help: 'ping-pong connections', default: '500' },
  idle: { help: 'idle connections for the memory figure (echo-load holds as many)', default: '10000' },
  only: { help: 'throughput or memory' },
  baseline: { help: "another built checkout of echo: its echo-server joins as baseline-echo" },
}, (o) => {
  if (o.only !== undefined && o.only !== 'throughput' && o.only !== 'memory') throw new OptionError(`--only must be throughput or memory (got '${o.only}')`);
  return {
    turnMs: duration(o.duration, 'duration'),
    turn: o.duration,
    rounds: count(o.rounds, 'rounds'),
    clients: count(o.clients, 'clients'),
    idle: count(o.idle, 'idle'),
    only: o.only,
    baseline: o.baseline,
  };
});

const PING_CLIENT = pingClient();

/** Starts a server (a Node.js script and its arguments) on core 0. */
function startServer(script: readonly string[], nodeFlags: string[] = []): Promise<RunningServer> {
  return launchServer([process.execPath, ...nodeFlags, ...script], { core: 0 });
}

interface ThroughputSample {
  rate: number;
  cpuPerMessageUs: number;
}

/** A server and the client that loads it: they run, or are frozen, together. */
interface Pair {
  name: string;
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
async function throughputInTurns(servers: Servers, size: number, turns: number, turnMs: number): Promise<Map<string, ThroughputSample>> {
  const pairs: Pair[] = [];
  const both = (pair: Pair, act: (child: Child) => void) => [pair.client, pair.server.child].forEach(act);
  try {
    for (const [name, script] of servers) {
      const server = await startServer(script);
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
        both(pair, (child) => child.check());
        const from = { at: performance.now(), bytes: bytesWritten(pid), cpu: cpuSeconds(pid) };
        return async () => {
          // A process of the pair that died is named, not just found missing from /proc:
          // once Node has seen it end.
          if (!existsSync(`/proc/${pid}`)) await sleep(200);
          both(pair, (child) => child.check());
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
  return new Map(pairs.map((pair) => [pair.name, { rate: pair.messages / pair.seconds, cpuPerMessageUs: (pair.serverCpu / pair.messages) * 1e6 }]));
}

/** `rounds` rounds of turns at one message size, and the lines that report their medians. */
async function throughput(servers: Servers, size: number): Promise<void> {
  const samples = new Map([...servers.keys()].map((name) => [name, [] as ThroughputSample[]]));
  for (let round = 0; round < args.rounds; round++) {
    const result = await throughputInTurns(servers, size, 4, args.turnMs);
    for (const [name, sample] of result) samples.get(name)!.push(sample);
  }
  const rate = (n: string) => median(samples.get(n)!.map((s) => s.rate));
  const cpu = (n: string) => median(samples.get(n)!.map((s) => s.cpuPerMessageUs));
  const line = (n: string) => `${n} ${rate(n).toFixed(0)} msg/s ${cpu(n).toFixed(2)} µs CPU/msg`;
  const ratios = (a: string, b: string) => `throughput ${(rate(a) / rate(b)).toFixed(3)}, CPU/msg ${(cpu(a) / cpu(b)).toFixed(3)}`;
  console.log(`${String(size).padStart(5)} B  ${[...servers.keys()].map(line).join(' | ')}`);
  console.log(`         echo / bare: ${ratios('echo', 'bare')}`);
  if (servers.has('baseline-echo')) console.log(`         echo / baseline-echo: ${ratios('echo', 'baseline-echo')}`);
  console.log(`         detector on / off: ${ratios('watched', 'echo')};  metrics scraped 1/s / none: ${ratios('metrics', 'watched')}`);
}

/** Connections opened (and held) before the first reading: the code they run is then paged in. */
const WARM_CONNECTIONS = 100;
/**
 * Quiet time before each reading. V8 sizes a thread's young generation to its recent
 * allocation rate and shrinks it at a collection once that rate has been low for a few seconds
 * (its allocation throughput is taken over the last 5 s): right after a burst of accepts it
 * may still hold up to 16 MB more, 1.6 KiB a connection at 10,000, which no connection holds.
 */
const REST_MS = 8000;

/** Opens `connections` idle connections to `port` from core 1; resolves with the client holding them. */
async function openIdle(name: string, port: number, connections: number): Promise<Child> {
  const client = new Child([process.execPath, built('loads/idle-client.js'), String(port), String(connections)], { core: 1 });
  const failed = await client.line((line) => /^connected \d+ failed (\d+)$/.exec(line)?.[1], 120_000);
  if (Number(failed) > 0) throw new Error(`${name}: ${failed} idle connections failed`);
  return client;
}

/**
 * Memory per idle connection: read after a GC with a few connections open and again with
 * `connections` more, each after a quiet time (see REST_MS); resident memory counted without
 * the young generation, which follows the allocation rate (see perConnection).
 */
async function idleMemory(name: string, script: readonly string[], connections: number): Promise<{ rss: number; heap: number }> {
  const server = await startServer(script, GC_PROBE_FLAGS);
  const warm = await openIdle(name, server.port, WARM_CONNECTIONS);
  await sleep(REST_MS);
  const before = await memoryAfterGc(server.child);
  const client = await openIdle(name, server.port, connections);
  await sleep(REST_MS);
  const after = await memoryAfterGc(server.child);
  await client.stop();
  await warm.stop();
  await server.child.stop();
  return perConnection(before, after, connections);
}

/** Waits until `server` holds `connections` (its own count), while `load` runs. */
async function untilHeld(server: RunningServer, connections: number, load: Child): Promise<void> {
  const deadline = performance.now() + 120_000;
  while ((await activeConnections(server)) !== connections) {
    load.check();
    if (performance.now() > deadline) throw new Error(`echo-load: the server never held ${connections} connections`);
    await sleep(250);
  }
}

/**
 * echo-load's memory per held connection, read as the server's (idleMemory): after a quiet
 * time and a GC in every thread (echo-load's worker threads too), young generations not
 * counted, with WARM_CONNECTIONS held first and `connections` more after. echo-load cannot be
 * told to open more while it runs, so one run holds both counts in turn (`--stages`: the warm
 * ones for a while, then a ramp to all). Each connection sends `rate` messages a second (a
 * held connection of `--stages` is an active one; 1 is the lowest rate): it holds what a
 * connection of a low-rate run holds, its pending send timer and stamps included.
 */
async function loadMemory(connections: number, rate: number): Promise<{ rss: number; heap: number }> {
  const server = await startServer([ECHO_SERVER, ...SETUPS.metrics]);
  const total = WARM_CONNECTIONS + connections;
  const warmMs = REST_MS + 12_000; // long enough to come up, rest and be read
  const stages = `0s:${WARM_CONNECTIONS},${warmMs}ms:${WARM_CONNECTIONS},${Math.ceil(connections / 1000)}s:${total},1h:${total}`;
  const argv = [process.execPath, ...GC_PROBE_FLAGS, ECHO_LOAD, '--port', String(server.port), '--stages', stages, '--rate', String(rate)];
  const load = new Child([...argv, '--timeout', '60s', '--no-progress'], { core: 1 });
  try {
    await untilHeld(server, WARM_CONNECTIONS, load);
    await sleep(REST_MS);
    const before = await memoryAfterGc(load);
    await untilHeld(server, total, load);
    await sleep(REST_MS);
    const after = await memoryAfterGc(load);
    return perConnection(before, after, connections);
  } finally {
    await load.stop('SIGKILL');
    await server.child.stop();
  }
}

/** Per-connection figures of `rounds` measurements: the median of each, and the range of resident memory. */
interface MemoryFigure {
  rss: number;
  heap: number;
  rssLow: number;
  rssHigh: number;
}

/** Measures `rounds` times (each a fresh process); resident memory varies by a few hundred bytes a connection between runs. */
async function rounds(measure: () => Promise<{ rss: number; heap: number }>): Promise<MemoryFigure> {
  const samples: Array<{ rss: number; heap: number }> = [];
  for (let round = 0; round < args.rounds; round++) samples.push(await measure());
  const rss = samples.map((s) => s.rss);
  return { rss: median(rss), heap: median(samples.map((s) => s.heap)), rssLow: Math.min(...rss), rssHigh: Math.max(...rss) };
}

/**
 * The memory figures, each the median of --rounds: the bare server, echo-server with its
 * defaults, and the baseline's likewise; then echo-load's per held connection against
 * echo-server's.
 */
async function memory(baseline: Checkout | undefined): Promise<void> {
  const idle = args.idle;
  const kib = (bytes: number) => (bytes / 1024).toFixed(2);
  const bare = await rounds(() => idleMemory('bare', [BARE_SERVER, '0'], idle));
  const echo = await rounds(() => idleMemory('echo', [ECHO_SERVER, ...SETUPS.metrics], idle));
  const describe = (name: string, m: MemoryFigure) => `${name} ${kib(m.rss)} KiB resident (${kib(m.rssLow)}-${kib(m.rssHigh)}; ${kib(m.heap)} KiB JS heap)`;
  const ratio = (a: MemoryFigure, b: MemoryFigure) => (a.rss / b.rss).toFixed(3);
  let line = `idle memory at ${idle} connections, after GC, per connection, median of ${args.rounds}: ${describe('bare', bare)}, ${describe('echo', echo)}, resident ratio ${ratio(echo, bare)}`;
  if (baseline !== undefined) {
    const before = await rounds(() => idleMemory('baseline-echo', [baseline.echoServer, ...SETUPS.metrics], idle));
    line += `; ${describe('baseline-echo', before)}, echo / baseline-echo ${ratio(echo, before)}`;
  }
  console.log(line);
  const load = await rounds(() => loadMemory(idle, 1));
  console.log(`echo-load, ${idle} held connections at 1 msg/s, after GC, per connection: ${describe('echo-load', load)}, echo-load / echo resident ${ratio(load, echo)}`);
}

async function main(): Promise<void> {
  const baseline = baselineCheckout(args.baseline);
  console.log(
    `server benchmark: ${args.clients} clients, turns of ${args.turn}, 4 turns per server x ${args.rounds} rounds, ` +
      `${PING_CLIENT.kind} client, taskset: ${hasTaskset ? 'yes' : 'no'}${baseline === undefined ? '' : `, baseline-echo from ${baseline.root}`}`,
  );
  if (args.only !== 'memory') for (const size of [64, 1024]) await throughput(throughputServers(baseline), size);
  if (args.only !== 'throughput') await memory(baseline);
}

runBenchmark('bench', main);
