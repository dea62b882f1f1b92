/**
 * Scrape storm benchmark (not a test): does watching echo-server slow it? echo-server with its
 * defaults (metrics endpoint on a free port) is pinned to core 0; on core 1 the C ping client
 * keeps CONNECTIONS connections ping-ponging 64 B messages the whole time, and a storm client
 * (storm-client.ts: autocannon's programmatic API) hammers `/metrics` and `/healthz` with a few
 * connections each, as fast as they are answered. The storm is switched on and off in short
 * alternating turns (off on on off ...; harness/turns.ts says why turns), so that the echo throughput
 * with and without it is compared in the same stretches of this machine's speed.
 *
 * Reports the echo throughput ratio storm / no storm (target >= 0.95), the server's CPU per
 * echo message storm / no storm, and autocannon's view of the endpoints: requests, status
 * codes, errors, timeouts, body mismatches (they must stay correct), latency p50/p99/max.
 *
 *   npm run bench:storm
 *   npm run bench:storm -- --rounds 1 --turns 3          # a short look
 *   npm run bench:storm -- --connections 1 --json
 *
 * Counting echoes: from the bytes the server's main thread wrote (/proc/PID/task/PID/io), not
 * the whole process's, which would count the HTTP thread's responses (about 10 KB per
 * /metrics) as echoes. The main thread also writes 8 bytes to an eventfd to wake the HTTP
 * thread for each response it hands over; since each echo is one write of 64 B, echoes =
 * (bytes - 8 x writes) / (64 - 8) takes those out exactly, and the storm-off turns check that
 * every main-thread write is one echo.
 */
import {
  built, Child, count, cpuSeconds, duration, ECHO_SERVER, hasTaskset, median, pingClient,
  readOptions, runBenchmark, sleep, startServer, takeTurns, threadWrites,
} from './harness/index.js';

const { rounds, turns, turnMs, clients, connections, json } = readOptions('npm run bench:storm -- [options]', {
  rounds: { help: 'rounds of turns (each gives one ratio; the report takes the median)', default: '3' },
  turns: { help: 'storm-on and storm-off turns per round (each)', default: '6' },
  turn: { help: 'measured length of one turn', default: '1s' },
  clients: { help: 'echo connections (C ping client, 64 B)', default: '500' },
  connections: { help: 'autocannon connections per endpoint', default: '4' },
  json: { help: 'print the whole outcome as one JSON object', flag: true },
}, (o) => ({
  rounds: count(o.rounds, 'rounds'),
  turns: count(o.turns, 'turns'),
  turnMs: duration(o.turn, 'turn'),
  clients: count(o.clients, 'clients'),
  connections: count(o.connections, 'connections'),
  json: o.json,
}));
const SIZE = 64;
/** libuv wakes another thread's loop by writing an 8-byte counter to its eventfd. */
const WAKEUP_BYTES = 8;
const SETTLE_MS = 200;

type Storm = 'off' | 'on';

/** What the turns of one kind added up to. */
interface Totals {
  seconds: number;
  /** Written by the server's main thread: bytes and write calls. */
  bytes: number;
  calls: number;
  /** CPU seconds: the whole server, its main thread, and the load core's two clients. */
  serverCpu: number;
  mainCpu: number;
  loadCpu: number;
}

const empty = (): Totals => ({ seconds: 0, bytes: 0, calls: 0, serverCpu: 0, mainCpu: 0, loadCpu: 0 });
const echoes = (t: Totals) => (t.bytes - WAKEUP_BYTES * t.calls) / (SIZE - WAKEUP_BYTES);
const rate = (t: Totals) => echoes(t) / t.seconds;
const cpuPerEcho = (t: Totals, cpu: number) => (cpu / echoes(t)) * 1e6;

/** One round: both kinds of turn, and their ratios. */
interface Round {
  off: Totals;
  on: Totals;
  throughputRatio: number;
  cpuRatio: number;
  mainCpuRatio: number;
}

/** autocannon's merged result, as far as the report reads it. */
interface Endpoint {
  requests: { total: number; average: number };
  latency: Record<string, number>;
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  statusCodeStats: Record<string, { count: number }>;
}

/** autocannon's results for the two endpoints, merged over all the storms. */
type Storms = { metrics: Endpoint | null; healthz: Endpoint | null };

/** The storm client's command (`on`, `off`, `reset`), once it has answered with the same word. */
async function ask(storm: Child, command: string): Promise<void> {
  const answer = storm.line((line) => (line === command ? line : undefined), 15_000);
  storm.send(command);
  await answer;
}

/** Warm-up: the echo connections settle, and the first storms meet a cold /metrics path. */
async function warmUp(storm: Child): Promise<void> {
  await sleep(1000);
  await ask(storm, 'on');
  await sleep(1000);
  await ask(storm, 'off');
  await ask(storm, 'reset');
}

/** One round of storm-off and storm-on turns, and their ratios; prints its line. */
async function stormRound(round: number, pid: number, pinger: Child, storm: Child): Promise<Round> {
  const totals: Record<Storm, Totals> = { off: empty(), on: empty() };
  await takeTurns<Storm>(['off', 'on'], {
    turns,
    turnMs,
    settleMs: SETTLE_MS,
    start: (state) => (state === 'on' ? ask(storm, 'on') : undefined),
    stop: (state) => (state === 'on' ? ask(storm, 'off') : undefined),
    measure: (state) => {
      pinger.check();
      const snapshot = () => ({
        at: performance.now(),
        writes: threadWrites(pid),
        server: cpuSeconds(pid),
        main: cpuSeconds(pid, pid),
        load: cpuSeconds(pinger.pid) + cpuSeconds(storm.pid),
      });
      const from = snapshot();
      return () => {
        const to = snapshot();
        const total = totals[state];
        total.seconds += (to.at - from.at) / 1000;
        total.bytes += to.writes.bytes - from.writes.bytes;
        total.calls += to.writes.calls - from.writes.calls;
        total.serverCpu += to.server - from.server;
        total.mainCpu += to.main - from.main;
        total.loadCpu += to.load - from.load;
      };
    },
  });
  const { off, on } = totals;
  const result: Round = {
    off,
    on,
    throughputRatio: rate(on) / rate(off),
    cpuRatio: cpuPerEcho(on, on.serverCpu) / cpuPerEcho(off, off.serverCpu),
    mainCpuRatio: cpuPerEcho(on, on.mainCpu) / cpuPerEcho(off, off.mainCpu),
  };
  const side = (t: Totals) => `${int(rate(t))} msg/s, ${cpuPerEcho(t, t.serverCpu).toFixed(2)} µs CPU/msg`;
  say(`round ${round}: no storm ${side(off)}; storm ${side(on)}; throughput ${result.throughputRatio.toFixed(3)}, CPU/msg ${result.cpuRatio.toFixed(3)}`);
  return result;
}

/** Ends the storm client and reads the merged results it prints. */
async function stormResults(storm: Child): Promise<Storms> {
  const end = storm.line((line) => (line.startsWith('{') ? line : undefined), 15_000);
  storm.send('end');
  return JSON.parse(await end) as Storms;
}

async function main(): Promise<void> {
  const ping = pingClient();
  const server = await startServer([process.execPath, ECHO_SERVER, '--port', '0', '--metrics-port', '0'], { core: 0 });
  const pid = server.child.pid;
  const children: Child[] = [server.child];
  const roundsDone: Round[] = [];
  let storms: Storms;
  try {
    const pinger = new Child([...ping.command, String(server.port), String(clients), String(SIZE), '0', '86400000'], { core: 1 }, 'ping-client');
    children.push(pinger);
    const storm = new Child([process.execPath, built('loads/storm-client.js'), `http://127.0.0.1:${server.metricsPort}`, String(connections)], {
      core: 1,
      stdin: true,
    });
    children.push(storm);
    say(
      `scrape storm: echo-server (defaults) on core 0; ${ping.kind} ping client (${clients} connections, ${SIZE} B) and autocannon ` +
        `(${connections} connections each on /metrics and /healthz) on core 1${hasTaskset ? '' : ' (no taskset: not pinned)'}; ` +
        `${rounds} round(s) of ${turns} storm-on and ${turns} storm-off turns of ${turnMs} ms`,
    );
    await warmUp(storm);
    for (let round = 1; round <= rounds; round++) roundsDone.push(await stormRound(round, pid, pinger, storm));
    storms = await stormResults(storm);
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
  report(roundsDone, storms);
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const say = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

function report(roundsDone: readonly Round[], storms: Storms): void {
  const pick = (f: (r: Round) => number) => roundsDone.map(f);
  const stormSeconds = roundsDone.reduce((sum, r) => sum + r.on.seconds, 0);
  const offSeconds = roundsDone.reduce((sum, r) => sum + r.off.seconds, 0);
  // Without the storm, every main-thread write should be one echo of SIZE bytes (else the count is off).
  const offBytes = roundsDone.reduce((sum, r) => sum + r.off.bytes, 0);
  const offCalls = roundsDone.reduce((sum, r) => sum + r.off.calls, 0);
  const bytesPerWrite = offBytes / offCalls;
  const loadCore = roundsDone.reduce((sum, r) => sum + r.on.loadCpu, 0) / stormSeconds;
  const summary = {
    throughputRatio: median(pick((r) => r.throughputRatio)),
    throughputRatioMin: Math.min(...pick((r) => r.throughputRatio)),
    cpuPerEchoRatio: median(pick((r) => r.cpuRatio)),
    mainThreadCpuPerEchoRatio: median(pick((r) => r.mainCpuRatio)),
    bytesPerWriteWithoutStorm: bytesPerWrite,
    loadCoreDuringStorm: loadCore,
    stormSeconds,
    offSeconds,
  };
  const correct = (e: Endpoint | null) => e !== null && e.non2xx === 0 && e.errors === 0 && e.timeouts === 0 && e.mismatches === 0;
  if (json) {
    process.stdout.write(`${JSON.stringify({ clients, connections, rounds, turns, turnMs, summary, roundResults: roundsDone, storms })}\n`);
    return;
  }
  const lines = [
    `echo throughput, storm / no storm = ${summary.throughputRatio.toFixed(3)} (median of ${roundsDone.length}; lowest ${summary.throughputRatioMin.toFixed(3)}; target >= 0.95)`,
    `server CPU per echo message, storm / no storm = ${summary.cpuPerEchoRatio.toFixed(3)} (median; main thread alone ${summary.mainThreadCpuPerEchoRatio.toFixed(3)})`,
    `load core during storms: ${(loadCore * 100).toFixed(0)}% busy (ping client and autocannon)${loadCore > 0.9 ? ': saturated, so the storm may slow the echo traffic from the client side' : ''}`,
  ];
  lines.push(
    Math.abs(bytesPerWrite / SIZE - 1) > 0.01
      ? `warning: without the storm the main thread wrote ${bytesPerWrite.toFixed(1)} B per write, not ${SIZE}: the echo count is approximate`
      : `echo count check: without the storm the main thread wrote ${bytesPerWrite.toFixed(2)} B per write (one echo each)`,
  );
  for (const [path, endpoint] of [['/metrics', storms.metrics], ['/healthz', storms.healthz]] as const) {
    if (endpoint === null) {
      lines.push(`${path}: no result`);
      continue;
    }
    const codes = Object.entries(endpoint.statusCodeStats).map(([code, { count }]) => `${code} x ${int(count)}`).join(', ');
    const l = endpoint.latency;
    lines.push(
      `${path}: ${int(endpoint.requests.total)} requests (${int(endpoint.requests.total / stormSeconds)}/s during storms; ${codes || 'no answers'}), ` +
        `2xx ${int(endpoint['2xx'])}, non-2xx ${int(endpoint.non2xx)}, errors ${int(endpoint.errors)}, timeouts ${int(endpoint.timeouts)}, ` +
        `wrong bodies ${int(endpoint.mismatches)}; latency p50/p99/max ${l.p50}/${l.p99}/${l.max} ms${correct(endpoint) ? '' : '  <- NOT all correct'}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark('bench:storm', main);
