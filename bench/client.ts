/**
 * Client benchmark (not a test): how echo-load's message rate compares with the minimal
 * hand-written client's, against the same bare `net` echo server (bare-server.ts).
 *
 *   npm run bench:client                       # 3 rounds, 5 s of turns per client, 500 connections, 64 B
 *   node dist/bench/client.js --rounds 1 --seconds 2
 *   node dist/bench/client.js --control   # minimal against a second minimal client: the noise floor
 *   node dist/bench/client.js --tasks     # minimal against the same client written as tasks (task-client.ts)
 *
 * Part 1, same core: the server runs on core 1; both clients are connected, both on core 0
 * (taskset), and take half-second turns (harness/turns.ts; the other is frozen meanwhile). The
 * server's echoed bytes count the messages. Goal: echo-load --workers 1 >= 0.95 x the
 * minimal client, although it checks every byte and records every latency.
 * Part 2, --workers 2 on both cores next to the server: the server's one thread should be the
 * saturated one (CPU close to 100% of a core) while echo-load still has room.
 *
 * With `--baseline <checkout>` (another built checkout of this project) that checkout's
 * echo-load joins part 1 as a third client with the same arguments, in the same turns
 * (A B C C B A ...), and the report adds echo-load / baseline-echo-load: before and after a
 * change in the same run. Part 2 runs this checkout's echo-load only.
 */
import { OptionError } from '../src/parse-option.js';
import {
  BARE_SERVER, baselineCheckout, built, bytesWritten, type Checkout, Child, count, cpuSeconds,
  ECHO_LOAD, hasTaskset, median, readOptions, runBenchmark, type RunningServer, sleep,
  startServer as launchServer, takeTurns,
} from './harness/index.js';

const MINIMAL = built('contenders/minimal-client.js');
const TASKS = built('contenders/task-client.js');

const options = readOptions('npm run bench:client -- [options]', {
  rounds: { help: 'rounds of turns', default: '3' },
  seconds: { help: 'measured seconds per client per round', default: '5' },
  clients: { help: 'connections', default: '500' },
  size: { help: 'bytes per message', default: '64' },
  control: { help: 'compare the minimal client with a second minimal client instead of echo-load', flag: true },
  tasks: { help: 'compare the minimal client with the same client written as tasks (what a task costs)', flag: true },
  baseline: { help: "another built checkout of echo: its echo-load joins the turns as baseline-echo-load" },
}, (o) => {
  if (o.baseline !== undefined && (o.control || o.tasks)) throw new OptionError('--baseline compares echo-load: leave out --control and --tasks');
  return {
    rounds: count(o.rounds, 'rounds'),
    seconds: count(o.seconds, 'seconds'),
    clients: count(o.clients, 'clients'),
    size: count(o.size, 'size'),
    control: o.control || o.tasks,
    tasks: o.tasks,
    baseline: o.baseline,
  };
});
const { rounds, seconds, clients, size, control, tasks } = options;
const WARMUP_MS = 1000;
const TURN_MS = 500;
const SETTLE_MS = 200;
const turns = Math.max(1, Math.round((seconds * 1000) / TURN_MS));

/** What one client achieved over its turns: totals, so that rates are totals over time. */
interface Turns {
  /** Messages the server echoed during the measured part of the turns. */
  messages: number;
  seconds: number;
  /** CPU seconds used meanwhile by the client and by the server. */
  clientCpu: number;
  serverCpu: number;
}

/** The bare server, on `core` (unpinned if undefined). */
const startServer = (core: number | undefined): Promise<RunningServer> => launchServer([process.execPath, BARE_SERVER, '0'], { core });

/**
 * Gives each of the frozen clients `turns` turns (A B C C B A ...) against the server and
 * leaves all frozen. The server's echoed bytes count the messages: the active client's are
 * the only ones in flight.
 */
async function clientsInTurns(serverPid: number, contenders: readonly Child[]): Promise<Turns[]> {
  const totals = new Map<Child, Turns>(contenders.map((c) => [c, { messages: 0, seconds: 0, clientCpu: 0, serverCpu: 0 }]));
  await takeTurns(contenders, {
    turns,
    turnMs: TURN_MS,
    settleMs: SETTLE_MS,
    start: (client) => {
      client.check();
      client.thaw();
    },
    stop: (client) => client.freeze(),
    measure: (client) => {
      const from = { at: performance.now(), bytes: bytesWritten(serverPid), client: cpuSeconds(client.pid), server: cpuSeconds(serverPid) };
      return () => {
        const total = totals.get(client)!;
        total.seconds += (performance.now() - from.at) / 1000;
        total.messages += (bytesWritten(serverPid) - from.bytes) / size;
        total.clientCpu += cpuSeconds(client.pid) - from.client;
        total.serverCpu += cpuSeconds(serverPid) - from.server;
      };
    },
  });
  return contenders.map((c) => totals.get(c)!);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (t: Turns) => t.messages / t.seconds;
const clientCost = (t: Turns) => t.clientCpu / t.messages;
const serverCost = (t: Turns) => t.serverCpu / t.messages;
const describe = (name: string, t: Turns) => {
  const share = (cpu: number) => `${((cpu / t.messages) * 1e6).toFixed(2)} (${((cpu / t.seconds) * 100).toFixed(0)}%)`;
  return `${name} ${fmt(rate(t))} msg/s; CPU-us/msg: client ${share(t.clientCpu)}, server ${share(t.serverCpu)}`;
};
const other = tasks ? 'task client' : control ? 'minimal (control)' : 'echo-load --workers 1';
const short = tasks ? 'tasks' : control ? 'control' : 'echo-load';

/** One client of part 1: its name in the report, its command, and whether it is an echo-load. */
interface Contender {
  name: string;
  argv: string[];
  /** An echo-load is stopped with SIGINT, and the report it then prints must show no errors. */
  echoLoad: boolean;
}

/** echo-load runs until the benchmark stops it (SIGINT: it then reports what it saw, errors included). */
const echoLoadArgv = (program: string, port: number) => [
  ...[process.execPath, program, '--port', String(port), '--clients', String(clients), '--size', String(size), '--workers', '1'],
  ...['--duration', '24h', '--json', '--no-progress'],
];

/** Part 1's clients in turn order: the minimal client, the one compared with it, the baseline's echo-load. */
function contenders(port: number, baseline: Checkout | undefined): Contender[] {
  const minimal = [process.execPath, MINIMAL, String(port), String(clients), String(size), String(WARMUP_MS), String(24 * 3600 * 1000)];
  const compared: Contender = tasks
    ? { name: other, argv: [process.execPath, TASKS, ...minimal.slice(2)], echoLoad: false }
    : control
      ? { name: other, argv: minimal, echoLoad: false }
      : { name: other, argv: echoLoadArgv(ECHO_LOAD, port), echoLoad: true };
  const list: Contender[] = [{ name: 'minimal', argv: minimal, echoLoad: false }, compared];
  if (baseline !== undefined) list.push({ name: 'baseline echo-load --workers 1', argv: echoLoadArgv(baseline.echoLoad, port), echoLoad: true });
  return list;
}

/** Per round, one client against another: message rate, its CPU and the server's CPU per message. */
interface Ratios {
  rate: number[];
  cpu: number[];
  server: number[];
}
const noRatios = (): Ratios => ({ rate: [], cpu: [], server: [] });
function addRatios(ratios: Ratios, a: Turns, b: Turns): void {
  ratios.rate.push(rate(a) / rate(b));
  // CPU per message: how much of a core each client spends per message (lower is better).
  ratios.cpu.push(clientCost(a) / clientCost(b));
  ratios.server.push(serverCost(a) / serverCost(b));
}

/** Each client connects and warms up alone, then all take turns for `rounds` rounds; part 1's ratios. */
async function partOne(baseline: Checkout | undefined): Promise<{ vsMinimal: Ratios; vsBaseline: Ratios; loadRates: number[] }> {
  const server = await startServer(1);
  const lineup = contenders(server.port, baseline);
  const children: Child[] = [];
  const vsMinimal = noRatios();
  const vsBaseline = noRatios();
  const loadRates: number[] = [];
  let ends: Array<{ code: number | null; output: string }> = [];
  try {
    for (const { name, argv } of lineup) {
      const child = new Child(argv, { core: 0 }, name);
      children.push(child);
      await sleep(WARMUP_MS);
      child.check();
      child.freeze();
    }
    for (let round = 1; round <= rounds; round++) {
      const [base, load, before] = (await clientsInTurns(server.child.pid, children)) as [Turns, Turns, Turns?];
      addRatios(vsMinimal, load, base);
      loadRates.push(rate(load));
      console.log(`round ${round}: ${describe('minimal', base)}`);
      console.log(`         ${describe(other, load)}; rate ratio ${(rate(load) / rate(base)).toFixed(3)}`);
      if (before === undefined) continue;
      addRatios(vsBaseline, load, before);
      console.log(`         ${describe(lineup[2]!.name, before)}; ${short} / baseline-echo-load rate ratio ${(rate(load) / rate(before)).toFixed(3)}`);
    }
  } finally {
    ends = await Promise.all(children.map((child, i) => child.stop(lineup[i]!.echoLoad ? 'SIGINT' : 'SIGTERM')));
    await server.child.stop();
  }
  // echo-load checked every byte all along: a benchmark with errors measured nothing worth having.
  ends.forEach((end, i) => {
    if (!lineup[i]!.echoLoad) return;
    const result = JSON.parse(end.output) as { errors: number };
    if (result.errors !== 0) throw new Error(`${lineup[i]!.name} reported ${result.errors} errors: ${end.output}`);
  });
  return { vsMinimal, vsBaseline, loadRates };
}

async function main(): Promise<void> {
  const baseline = baselineCheckout(options.baseline);
  console.log(
    `client benchmark: ${clients} connections, ${size} B, ${rounds} rounds of ${turns} turns of ${TURN_MS} ms per client${hasTaskset ? '' : ' (no taskset: not pinned)'}` +
      (baseline === undefined ? '' : `, baseline-echo-load from ${baseline.root}`),
  );
  // Part 1: server on core 1, the clients on core 0, taking turns.
  const { vsMinimal, vsBaseline, loadRates } = await partOne(baseline);
  console.log(`same core: ${short} / minimal message rate = ${median(vsMinimal.rate).toFixed(3)} (median of ${rounds}${control ? '' : '; goal >= 0.95'})`);
  console.log(`           ${short} / minimal CPU per message = ${median(vsMinimal.cpu).toFixed(3)} (median; < 1 means ${short} is cheaper)`);
  console.log(`           server CPU per message, ${short}'s traffic / minimal's = ${median(vsMinimal.server).toFixed(3)} (median; > 1 means it costs the server more)`);
  if (baseline !== undefined) {
    console.log(
      `           echo-load / baseline-echo-load: message rate ${median(vsBaseline.rate).toFixed(3)}, CPU per message ${median(vsBaseline.cpu).toFixed(3)}, ` +
        `server CPU per message ${median(vsBaseline.server).toFixed(3)} (medians of ${rounds})`,
    );
  }
  if (!control) await partTwo(median(loadRates));
}

/**
 * Part 2: nothing pinned, two workers next to the server on two cores: which is saturated?
 * One whole run; its rate is echo-load's own report, CPU sampled inside its measured window.
 */
async function partTwo(workers1: number): Promise<void> {
  const free = await startServer(undefined);
  try {
    const args = [process.execPath, ECHO_LOAD, '--port', String(free.port), '--clients', String(clients), '--size', String(size), '--workers', '2'];
    args.push('--warmup', `${WARMUP_MS}ms`, '--duration', `${seconds}s`, '--json', '--no-progress');
    const child = new Child(args, {}, 'echo-load --workers 2');
    const serverPid = free.child.pid;
    await sleep(WARMUP_MS + 500);
    const from = { at: performance.now(), client: cpuSeconds(child.pid), server: cpuSeconds(serverPid) };
    await sleep(seconds * 1000 - 1000);
    const wall = (performance.now() - from.at) / 1000;
    const clientCpu = (cpuSeconds(child.pid) - from.client) / wall;
    const serverCpu = (cpuSeconds(serverPid) - from.server) / wall;
    const code = await child.exited;
    if (code !== 0) throw new Error(`echo-load exited ${code}: ${child.output}`);
    const result = JSON.parse(child.output) as { errors: number; requests: { average: number } };
    const rate = result.requests.average;
    const cpu = `${((clientCpu * 1e6) / rate).toFixed(2)} CPU-us/msg (client ${(clientCpu * 100).toFixed(0)}%, server ${(serverCpu * 100).toFixed(0)}%)`;
    console.log(`--workers 2, unpinned: echo-load ${fmt(rate)} msg/s, ${cpu}; ${(rate / workers1).toFixed(2)} x --workers 1 on one core`);
    console.log(
      serverCpu >= 0.9
        ? `  the server's one thread is saturated (${(serverCpu * 100).toFixed(0)}% of a core): the server, not echo-load, limits this run`
        : `  the server is at ${(serverCpu * 100).toFixed(0)}% of a core: on two shared cores neither side is saturated alone`,
    );
  } finally {
    await free.child.stop();
  }
}

runBenchmark('bench:client', main);
