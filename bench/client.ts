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
 */
import {
  BARE_SERVER, built, bytesWritten, Child, count, cpuSeconds, ECHO_LOAD, hasTaskset, median,
  readOptions, runBenchmark, type RunningServer, sleep, startServer as launchServer, takeTurns,
} from './harness/index.js';

const MINIMAL = built('contenders/minimal-client.js');
const TASKS = built('contenders/task-client.js');

const { rounds, seconds, clients, size, control, tasks } = readOptions('npm run bench:client -- [options]', {
  rounds: { help: 'rounds of turns', default: '3' },
  seconds: { help: 'measured seconds per client per round', default: '5' },
  clients: { help: 'connections', default: '500' },
  size: { help: 'bytes per message', default: '64' },
  control: { help: 'compare the minimal client with a second minimal client instead of echo-load', flag: true },
  tasks: { help: 'compare the minimal client with the same client written as tasks (what a task costs)', flag: true },
}, (o) => ({
  rounds: count(o.rounds, 'rounds'),
  seconds: count(o.seconds, 'seconds'),
  clients: count(o.clients, 'clients'),
  size: count(o.size, 'size'),
  control: o.control || o.tasks,
  tasks: o.tasks,
}));
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
 * Gives each of the two frozen clients `turns` turns (A B B A ...) against the server and
 * leaves both frozen. The server's echoed bytes count the messages: the active client's are
 * the only ones in flight.
 */
async function clientsInTurns(serverPid: number, contenders: readonly [Child, Child]): Promise<[Turns, Turns]> {
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
  return [totals.get(contenders[0])!, totals.get(contenders[1])!];
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

async function main(): Promise<void> {
  console.log(
    `client benchmark: ${clients} connections, ${size} B, ${rounds} rounds of ${turns} turns of ${TURN_MS} ms per client${hasTaskset ? '' : ' (no taskset: not pinned)'}`,
  );
  // Part 1: server on core 1, both clients on core 0, taking turns.
  const server = await startServer(1);
  const minimalArgs = [process.execPath, MINIMAL, String(server.port), String(clients), String(size), String(WARMUP_MS), String(24 * 3600 * 1000)];
  // echo-load runs until the benchmark stops it (SIGINT: it then reports what it saw, errors included).
  const loadArgs = [process.execPath, ECHO_LOAD, '--port', String(server.port), '--clients', String(clients), '--size', String(size), '--workers', '1'];
  loadArgs.push('--duration', '24h', '--json', '--no-progress');
  const contenders: Child[] = [];
  const rateRatios: number[] = [];
  const cpuRatios: number[] = [];
  const serverRatios: number[] = [];
  const loadRates: number[] = [];
  let loadEnd: { code: number | null; output: string } | undefined;
  try {
    // Each one connects and warms up alone, then waits frozen for its turns.
    const taskArgs = [process.execPath, TASKS, ...minimalArgs.slice(2)];
    for (const [name, args] of [['minimal', minimalArgs], [other, tasks ? taskArgs : control ? minimalArgs : loadArgs]] as const) {
      const contender = new Child(args, { core: 0 }, name);
      contenders.push(contender);
      await sleep(WARMUP_MS);
      contender.check();
      contender.freeze();
    }
    for (let round = 1; round <= rounds; round++) {
      const [base, load] = await clientsInTurns(server.child.pid, [contenders[0]!, contenders[1]!]);
      rateRatios.push(rate(load) / rate(base));
      // CPU per message: how much of a core each client spends per message (lower is better).
      cpuRatios.push(clientCost(load) / clientCost(base));
      serverRatios.push(serverCost(load) / serverCost(base));
      loadRates.push(rate(load));
      console.log(`round ${round}: ${describe('minimal', base)}`);
      console.log(`         ${describe(other, load)}; rate ratio ${(rate(load) / rate(base)).toFixed(3)}`);
    }
  } finally {
    const ends = contenders.map((contender) => contender.stop(contender === contenders[1] && !control ? 'SIGINT' : 'SIGTERM'));
    loadEnd = (await Promise.all(ends))[1];
    await server.child.stop();
  }
  // echo-load checked every byte all along: a benchmark with errors measured nothing worth having.
  if (loadEnd !== undefined && !control) {
    const result = JSON.parse(loadEnd.output) as { errors: number };
    if (result.errors !== 0) throw new Error(`echo-load reported ${result.errors} errors: ${loadEnd.output}`);
  }
  console.log(`same core: ${short} / minimal message rate = ${median(rateRatios).toFixed(3)} (median of ${rounds}${control ? '' : '; goal >= 0.95'})`);
  console.log(`           ${short} / minimal CPU per message = ${median(cpuRatios).toFixed(3)} (median; < 1 means ${short} is cheaper)`);
  console.log(`           server CPU per message, ${short}'s traffic / minimal's = ${median(serverRatios).toFixed(3)} (median; > 1 means it costs the server more)`);
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
