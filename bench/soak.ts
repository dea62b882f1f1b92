/**
 * Soak benchmark (not a test): echo-server with its defaults under a moderate, steady load
 * for a long time, its memory sampled throughout, and whether it settles. Both sides are the
 * real CLIs:
 *
 *   echo-server --port 0 --metrics-port 0          (node --expose-gc --import soak-probe.js)
 *   echo-load --clients N --rate R --connect-rate C --timeout T --duration D+margin --json --no-progress
 *
 * Every `--interval` the server's resident memory is read from /proc (VmRSS, and the anonymous
 * part from smaps_rollup) and the server's own figures (heap total and used, external, array
 * buffers; no forced GC) from the probe. After the connections are up and warm, and again at
 * the end while they are still held, the probe is asked to collect garbage and report (a heap
 * that only settles has the same live size late as early; a leak's grows), and with
 * `--snapshots DIR` to write a heap snapshot each time for comparing what grew. The verdict:
 * whether resident memory over the last `--window` stays within `--tolerance` of its lowest
 * value there; echo-load's result (echoes, errors, p99) is checked too.
 *
 *   npm run bench:soak                                   # 10,000 connections at 2 msg/s for 30 min
 *   npm run bench:soak -- --duration 3m --window 2m --clients 2000 --snapshots /tmp/soak
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { LoadResult } from '../load/result/result.js';
import { OptionError } from '../src/parse-option.js';
import {
  activeConnections, built, Child, count, duration, ECHO_LOAD, ECHO_SERVER, readOptions, runBenchmark, sleep, startServer,
  type RunningServer,
} from './harness/index.js';

const options = readOptions('npm run bench:soak -- [options]', {
  clients: { help: 'connections held by echo-load', default: '10000' },
  rate: { help: 'messages per second per connection', default: '2' },
  'connect-rate': { help: 'connections opened per second', default: '1000' },
  timeout: { help: "echo-load's --timeout: an echo later than this fails its connection (the machine may be shared)", default: '60s' },
  duration: { help: 'sampled time, from when the connections are up', default: '30m' },
  window: { help: 'the end of the run that must stay within --tolerance', default: '20m' },
  tolerance: { help: 'how far (percent) resident memory may rise over its lowest value in the window', default: '5' },
  interval: { help: 'sampling interval', default: '10s' },
  warmup: { help: 'time after the connections are up before the first collection', default: '1m' },
  snapshots: { help: 'directory for heap snapshots at the first and last collection (a snapshot leaves malloc holding about 150 MB more: not for the verdict)' },
  out: { help: 'write every sample and the verdict as JSON to this file' },
}, (o) => {
  const settings = {
    clients: count(o.clients, 'clients'),
    rate: count(o.rate, 'rate'),
    connectRate: count(o['connect-rate'], 'connect-rate'),
    timeoutMs: duration(o.timeout, 'timeout'),
    durationMs: duration(o.duration, 'duration'),
    windowMs: duration(o.window, 'window'),
    tolerance: Number(o.tolerance),
    intervalMs: duration(o.interval, 'interval'),
    warmupMs: duration(o.warmup, 'warmup'),
    snapshots: o.snapshots,
    out: o.out,
  };
  if (!(settings.tolerance > 0)) throw new OptionError(`--tolerance must be a positive number (got '${o.tolerance}')`);
  if (settings.windowMs > settings.durationMs - settings.warmupMs) throw new OptionError('--window must fit in --duration after --warmup');
  return settings;
});

/** One sample of the server's memory, bytes, at `atMs` since the connections were up. */
interface Sample {
  atMs: number;
  /** VmRSS, smaps_rollup's Anonymous and the resident part of malloc's main arena (`[heap]` in smaps), from /proc. */
  rss: number;
  anonymous: number;
  brk: number;
  /** The server's own view (process.memoryUsage(), no forced GC). */
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** What the probe reports after a forced collection. */
type Collected = Omit<Sample, 'atMs' | 'anonymous' | 'brk'> & { snapshot?: string };

const MB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MB).toFixed(1);
const minutes = (ms: number) => `${+(ms / 60_000).toFixed(2)} min`;

/** A /proc figure of the process in kB, as bytes. */
function procKb(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/${file}`);
  return Number(match[1]) * 1024;
}

/** The resident part of the process's `[heap]` mapping (malloc's main arena, grown with brk). */
function brkResident(pid: number): number {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const at = smaps.indexOf(' [heap]\n');
  if (at < 0) return 0;
  return Number(/^Rss:\s+(\d+) kB/m.exec(smaps.slice(at))?.[1] ?? 0) * 1024;
}

/** The probe's five figures from a `sample ...` or `collected ...` line. */
function probeFigures(line: string, tag: string) {
  const match = new RegExp(`^${tag} (\\d+) (\\d+) (\\d+) (\\d+) (\\d+)$`).exec(line);
  if (match === null) return undefined;
  const [rss, heapTotal, heapUsed, external, arrayBuffers] = match.slice(1).map(Number) as [number, number, number, number, number];
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

/** Asks the probe to collect garbage (and snapshot, with --snapshots); resolves with its report. */
async function collect(server: RunningServer): Promise<Collected> {
  const figures = server.child.line((line) => probeFigures(line, 'collected'), 60_000);
  const snapshot = options.snapshots === undefined ? undefined : server.child.line((line) => /^snapshot (.+)$/.exec(line)?.[1], 300_000);
  server.child.signal('SIGUSR2');
  const collected: Collected = await figures;
  if (snapshot !== undefined) collected.snapshot = await snapshot;
  return collected;
}

const describeCollected = (c: Collected) =>
  `rss ${mb(c.rss)} MB, heap used ${mb(c.heapUsed)} of ${mb(c.heapTotal)} MB, external ${mb(c.external)} MB, array buffers ${mb(c.arrayBuffers)} MB` +
  (c.snapshot === undefined ? '' : `, snapshot ${c.snapshot}`);

/** Starts echo-load and resolves once every connection is up (from the server's own count). */
async function startLoad(server: RunningServer): Promise<Child> {
  // Longer than the sampling and the collections: the soak ends it with SIGINT.
  const loadMs = options.durationMs + 10 * 60_000;
  const argv = [process.execPath, ECHO_LOAD, '--port', String(server.port), '--clients', String(options.clients)];
  argv.push('--rate', String(options.rate), '--connect-rate', String(options.connectRate), '--duration', `${loadMs}ms`);
  argv.push('--timeout', `${options.timeoutMs}ms`, '--json', '--no-progress');
  const load = new Child(argv, {}, 'echo-load');
  const deadline = performance.now() + (options.clients / options.connectRate) * 1000 + 30_000;
  while ((await activeConnections(server)) < options.clients) {
    load.check();
    if (performance.now() > deadline) throw new Error(`not all ${options.clients} connections came up in time`);
    await sleep(500);
  }
  return load;
}

/** Samples the server every --interval for --duration, printing each sample as it comes. */
async function sampleFor(server: RunningServer, load: Child, startedAt: number, collectAtMs: number): Promise<{ samples: Sample[]; early: Collected }> {
  const samples: Sample[] = [];
  const pid = server.child.pid;
  let early: Collected | undefined;
  for (let next = 0; next <= options.durationMs; next += options.intervalMs) {
    await sleep(Math.max(0, startedAt + next - performance.now()));
    load.check();
    server.child.check();
    if (early === undefined && next >= collectAtMs) {
      early = await collect(server);
      console.log(`collected after the warm-up: ${describeCollected(early)}`);
    }
    const own = server.child.line((line) => probeFigures(line, 'sample'), options.intervalMs * 2);
    const fromProc = { rss: procKb(pid, 'status', 'VmRSS'), anonymous: procKb(pid, 'smaps_rollup', 'Anonymous'), brk: brkResident(pid) };
    const { heapTotal, heapUsed, external, arrayBuffers } = await own;
    const sample = { atMs: Math.round(performance.now() - startedAt), ...fromProc, heapTotal, heapUsed, external, arrayBuffers };
    samples.push(sample);
    console.log(
      `${(sample.atMs / 60_000).toFixed(2).padStart(6)} min  rss ${mb(sample.rss)} MB (anonymous ${mb(sample.anonymous)}, malloc [heap] ${mb(sample.brk)})  ` +
        `heap ${mb(heapUsed)}/${mb(heapTotal)} MB  external ${mb(external)} MB  array buffers ${mb(arrayBuffers)} MB`,
    );
  }
  return { samples, early: early! };
}

/** The window's spread: lowest and highest of one figure, and how far the highest is above the lowest. */
function spread(samples: readonly Sample[], figure: keyof Sample) {
  const values = samples.map((s) => s[figure]);
  const low = Math.min(...values);
  const high = Math.max(...values);
  return { low, high, risePercent: ((high - low) / low) * 100 };
}

/** Ends the load (SIGINT: echo-load reports what it measured) and reads its JSON. */
async function finishLoad(load: Child): Promise<LoadResult> {
  const { code } = await load.stop('SIGINT', 30_000);
  const json = load.output.split('\n').find((line) => line.startsWith('{'));
  if (json === undefined) throw new Error(`echo-load exited with ${code} and no JSON: ${load.output}`);
  return JSON.parse(json) as LoadResult;
}

async function main(): Promise<void> {
  const { clients, rate, durationMs, windowMs, intervalMs } = options;
  console.log(`soak: ${clients} connections at ${rate} msg/s each (${clients * rate} msg/s) for ${minutes(durationMs)}, sampled every ${intervalMs / 1000} s`);
  const server = await startServer([process.execPath, '--expose-gc', '--import', built('harness/soak-probe.js'), ECHO_SERVER, '--port', '0', '--metrics-port', '0'], {
    env: { SOAK_PROBE_INTERVAL_MS: String(intervalMs), ...(options.snapshots === undefined ? {} : { SOAK_PROBE_SNAPSHOTS: options.snapshots }) },
  });
  const load = await startLoad(server);
  const startedAt = performance.now();
  const { samples, early } = await sampleFor(server, load, startedAt, options.warmupMs);
  const late = await collect(server);
  console.log(`collected at the end: ${describeCollected(late)}`);
  const result = await finishLoad(load);
  await server.child.stop('SIGTERM', 15_000);

  const window = samples.filter((s) => s.atMs >= durationMs - windowMs);
  const rss = spread(window, 'rss');
  const heap = spread(window, 'heapUsed');
  const settled = rss.risePercent <= options.tolerance;
  console.log(`echo-load: ${result.requests.total} echoes, ${result.errors} errors, held ${result.held} of ${clients}, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
  console.log(`last ${minutes(windowMs)}: rss ${mb(rss.low)}-${mb(rss.high)} MB (+${rss.risePercent.toFixed(1)}%), heap used ${mb(heap.low)}-${mb(heap.high)} MB`);
  console.log(`live heap after a collection: ${mb(early.heapUsed)} MB after the warm-up, ${mb(late.heapUsed)} MB at the end (${mb(late.heapUsed - early.heapUsed)} MB)`);
  console.log(`verdict: resident memory ${settled ? 'stays' : 'does NOT stay'} within ${options.tolerance}% over the last ${minutes(windowMs)}`);
  if (options.out !== undefined) writeFileSync(options.out, `${JSON.stringify({ options, samples, early, late, window: { rss, heap }, settled, load: result }, null, 2)}\n`);
  if (!settled) throw new Error(`resident memory rose ${rss.risePercent.toFixed(1)}% over the last ${minutes(windowMs)}`);
  if (result.errors > 0 || result.held !== clients) throw new Error('echo-load did not hold every connection without errors');
}

runBenchmark('soak', main);
