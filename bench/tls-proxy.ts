/**
 * TLS and PROXY protocol benchmark (not a test): ratios within one run, contenders in
 * alternating turns, frozen (SIGSTOP) when not theirs; servers on core 0, their clients
 * (setup-client.ts, Node.js: TLS needs it) on core 1 where `taskset` exists.
 *
 * - TLS echo at SIZE bytes: echo-server's TLS listener against a bare Node `tls` echo server
 *   (bare-tls-server.ts), CLIENTS connections in ping-pong: messages per second and the
 *   server's CPU time per message.
 * - New TLS connections per second: CHURN loops that each connect, make one round trip and
 *   close, against the same two servers.
 * - PROXY protocol: the same churn over plain TCP, against echo-server with
 *   `--proxy-protocol v2` (each connection sends a v2 header first) and without.
 *
 * echo-server runs as the server benchmark's `echo` (`--no-metrics --max-blocking 0`): the
 * detector's and the metrics' costs are measured there.
 *
 * Each server is measured only after `--warmup` of its own load. A connection's code runs a
 * few hundred times a second in churn, and V8 takes seconds to optimize all of it: after three
 * seconds of warm-up echo-server (which has more of that code) measured 1.24 of the bare TLS
 * server's CPU per connection, after 25 seconds 1.14 (both together, 5 windows each).
 *
 * With `--together` the contenders are not frozen: both pairs run at once, the two servers
 * sharing core 0 and the two clients core 1, and each round is one window of `--duration` in
 * which both are measured. A slow stretch of the machine then falls on both in the same
 * window, so the windows of one run agree within a few per cent (single rounds in turns
 * scatter from 0.7 to 1.4), though whole runs still differ from each other by more than
 * that; the price is a core shared with the other server, whose caches both see. CPU per
 * message or connection is the figure to read there: the two servers share core 0, so
 * throughput is not the same measure as in turns, where each has the core to itself.
 *
 * Usage: npm run bench:tls -- [--duration 1s] [--rounds 3] [--clients 100] [--churn 16] [--size 1024] [--warmup 5s] [--together]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  built, Child, count, cpuSeconds, duration, ECHO_SERVER, hasTaskset, median, readOptions,
  runBenchmark, sleep, takeTurns,
} from './harness/index.js';

const args = readOptions('npm run bench:tls -- [options]', {
  duration: { help: 'measured length of one turn', default: '1s' },
  rounds: { help: 'rounds (each a median input)', default: '3' },
  clients: { help: 'ping-pong TLS connections', default: '100' },
  churn: { help: 'concurrent connect-echo-close loops', default: '16' },
  size: { help: 'message size in bytes', default: '1024' },
  warmup: { help: 'each server serves its load this long before it is measured (the JIT settles)', default: '5s' },
  together: { help: 'run both contenders at once, sharing the cores; a round is one measured window', flag: true },
}, (o) => ({ turnMs: duration(o.duration, 'duration'), turn: o.duration, rounds: count(o.rounds, 'rounds'), clients: count(o.clients, 'clients'), churn: count(o.churn, 'churn'), size: count(o.size, 'size'), warmupMs: duration(o.warmup, 'warmup'), together: o.together }));

const dir = mkdtempSync(join(tmpdir(), 'echo-bench-tls-'));
const CERT = join(dir, 'cert.pem');
const KEY = join(dir, 'key.pem');

const ECHO = [process.execPath, ECHO_SERVER, '--log-level', 'info', '--no-metrics', '--max-blocking', '0'];
const SERVERS = {
  bareTls: [process.execPath, built('contenders/bare-tls-server.js'), CERT, KEY, '0'],
  echoTls: [...ECHO, '--no-plain', '--tls-port', '0', '--tls-cert', CERT, '--tls-key', KEY],
  echoPlain: [...ECHO, '--port', '0'],
  echoProxy: [...ECHO, '--port', '0', '--proxy-protocol', 'v2'],
};
type ServerName = keyof typeof SERVERS;

/** A server with its client: they run, or are frozen, together. */
interface Pair {
  name: ServerName;
  server: Child;
  client: Child;
  /** Counted in the measured parts of its turns. */
  done: number;
  seconds: number;
  cpu: number;
}

async function startServer(name: ServerName): Promise<{ child: Child; port: number }> {
  const child = new Child(SERVERS[name], { core: 0 });
  const port = await child.line((line) => {
    const bare = /^listening (\d+)$/.exec(line);
    if (bare) return Number(bare[1]);
    if (!line.includes('"msg":"listening"')) return undefined;
    const entry = JSON.parse(line) as { port: number | null; tlsPort: number | null };
    return entry.tlsPort ?? entry.port ?? undefined;
  });
  return { child, port };
}

/** The client's count so far (round trips or connections), asked over its stdin. */
async function clientCount(client: Child): Promise<number> {
  const reply = client.line((line) => /^count (\d+) \d+$/.exec(line)?.[1]);
  client.send('count');
  return Number(await reply);
}

/**
 * Runs `names`, each with a setup-client in `mode`, in alternating turns; per server: the
 * client's count per second and the server's CPU per counted unit (µs).
 */
async function inTurns(names: readonly ServerName[], mode: (name: ServerName) => string, concurrency: number): Promise<Record<string, { rate: number; cpuUs: number }>> {
  const pairs: Pair[] = [];
  try {
    for (const name of names) {
      const pair = await startPair(name, mode, concurrency);
      pairs.push(pair);
      await sleep(args.warmupMs);
      pair.server.freeze();
      pair.client.freeze();
    }
    // Counts are read while the pair runs: at the start and the end of each measured part.
    let from = { count: 0, cpu: 0, at: 0 };
    await takeTurns(pairs, {
      turns: 4,
      turnMs: args.turnMs,
      settleMs: 200,
      start: (pair) => {
        pair.server.thaw();
        pair.client.thaw();
      },
      stop: (pair) => {
        pair.client.freeze();
        pair.server.freeze();
      },
      measure: (pair) => {
        const started = clientCount(pair.client).then((n) => (from = { count: n, cpu: cpuSeconds(pair.server.pid), at: performance.now() }));
        return async () => {
          await started;
          const n = await clientCount(pair.client);
          pair.done += n - from.count;
          pair.cpu += cpuSeconds(pair.server.pid) - from.cpu;
          pair.seconds += (performance.now() - from.at) / 1000;
        };
      },
    });
  } finally {
    await stopPairs(pairs);
  }
  return Object.fromEntries(pairs.map((p) => [p.name, { rate: p.done / p.seconds, cpuUs: (p.cpu / p.done) * 1e6 }]));
}

/**
 * Runs `names` at the same time, each with a setup-client in `mode`, and measures all of them
 * in each of `windows` windows of the turn's length; per window and server, as `inTurns`.
 */
async function together(names: readonly ServerName[], mode: (name: ServerName) => string, concurrency: number, windows: number): Promise<Array<Record<string, { rate: number; cpuUs: number }>>> {
  const pairs: Pair[] = [];
  try {
    for (const name of names) pairs.push(await startPair(name, mode, concurrency));
    await sleep(args.warmupMs);
    const look = () => Promise.all(pairs.map(async (p) => ({ count: await clientCount(p.client), cpu: cpuSeconds(p.server.pid), at: performance.now() })));
    const results: Array<Record<string, { rate: number; cpuUs: number }>> = [];
    let from = await look();
    for (let window = 0; window < windows; window++) {
      await sleep(args.turnMs);
      const to = await look();
      results.push(Object.fromEntries(pairs.map((p, i) => {
        const done = to[i]!.count - from[i]!.count;
        return [p.name, { rate: done / ((to[i]!.at - from[i]!.at) / 1000), cpuUs: ((to[i]!.cpu - from[i]!.cpu) / done) * 1e6 }];
      })));
      from = to;
    }
    return results;
  } finally {
    await stopPairs(pairs);
  }
}

/** A server and its client, running, with the client's first count read (it is connected). */
async function startPair(name: ServerName, mode: (name: ServerName) => string, concurrency: number): Promise<Pair> {
  const { child: server, port } = await startServer(name);
  const client = new Child([process.execPath, built('loads/setup-client.js'), mode(name), String(port), String(concurrency), String(args.size)], { core: 1, stdin: true });
  await clientCount(client);
  return { name, server, client, done: 0, seconds: 0, cpu: 0 };
}

async function stopPairs(pairs: readonly Pair[]): Promise<void> {
  for (const pair of pairs) {
    await pair.client.stop();
    await pair.server.stop();
  }
}

async function main(): Promise<void> {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', KEY, '-out', CERT, '-subj', '/CN=localhost', '-days', '1'], { stdio: 'ignore' });
  const how = args.together ? `together, ${args.rounds} windows of ${args.turn}` : `turns of ${args.turn}, 4 turns each x ${args.rounds} rounds`;
  console.log(`TLS and PROXY benchmark: ${args.size} B messages, ${how}, taskset: ${hasTaskset ? 'yes' : 'no'}`);
  const rounds = async (names: readonly ServerName[], mode: (name: ServerName) => string, concurrency: number) => {
    const all: Array<Record<string, { rate: number; cpuUs: number }>> = [];
    if (args.together) all.push(...(await together(names, mode, concurrency, args.rounds)));
    else for (let round = 0; round < args.rounds; round++) all.push(await inTurns(names, mode, concurrency));
    const rate = (name: ServerName) => median(all.map((r) => r[name]!.rate));
    const cpu = (name: ServerName) => median(all.map((r) => r[name]!.cpuUs));
    return { rate, cpu };
  };
  const echoes = await rounds(['bareTls', 'echoTls'], () => 'ping-tls', args.clients);
  console.log(
    `TLS echo, ${args.clients} connections: bare ${echoes.rate('bareTls').toFixed(0)} msg/s ${echoes.cpu('bareTls').toFixed(2)} µs CPU/msg | ` +
      `echo ${echoes.rate('echoTls').toFixed(0)} msg/s ${echoes.cpu('echoTls').toFixed(2)} µs CPU/msg; ` +
      `echo / bare: throughput ${(echoes.rate('echoTls') / echoes.rate('bareTls')).toFixed(3)}, CPU/msg ${(echoes.cpu('echoTls') / echoes.cpu('bareTls')).toFixed(3)}`,
  );
  const handshakes = await rounds(['bareTls', 'echoTls'], () => 'churn-tls', args.churn);
  console.log(
    `new TLS connections, ${args.churn} at a time: bare ${handshakes.rate('bareTls').toFixed(0)}/s | echo ${handshakes.rate('echoTls').toFixed(0)}/s; ` +
      `echo / bare ${(handshakes.rate('echoTls') / handshakes.rate('bareTls')).toFixed(3)}, server CPU per connection ${(handshakes.cpu('echoTls') / handshakes.cpu('bareTls')).toFixed(3)}`,
  );
  const proxy = await rounds(['echoPlain', 'echoProxy'], (name) => (name === 'echoProxy' ? 'churn-proxy-v2' : 'churn-plain'), args.churn);
  console.log(
    `new connections, ${args.churn} at a time: PROXY off ${proxy.rate('echoPlain').toFixed(0)}/s | v2 on ${proxy.rate('echoProxy').toFixed(0)}/s; ` +
      `on / off ${(proxy.rate('echoProxy') / proxy.rate('echoPlain')).toFixed(3)}, server CPU per connection ${(proxy.cpu('echoProxy') / proxy.cpu('echoPlain')).toFixed(3)}`,
  );
}

runBenchmark('bench:tls', () => main().finally(() => rmSync(dir, { recursive: true, force: true })));
