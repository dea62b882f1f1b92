import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../src/log.js';
import type { MainMessage, WorkerConfig, WorkerMessage } from './messages.js';
import type { LoadOptions } from '../options/options.js';
import { firstReachable } from '../options/reachable.js';
import { buildResult, type LoadResult, type WorkerResult } from '../result/result.js';
import { Sampler, type Tick } from './sampler.js';
import { SHARED_SLOTS } from '../worker/tally.js';
import { Waiter } from './waiter.js';

/** A run that could not take place at all (as opposed to one that measured failures). */
export class LoadError extends Error {
  constructor(
    readonly code: 'EHOST' | 'EWORKER',
    message: string,
  ) {
    super(message);
  }
}

/** How the CLI watches and steers a run. */
export interface RunHooks {
  log: Logger;
  /** Aborting stops the run early; the result then covers what was measured (`interrupted`). */
  signal?: AbortSignal;
  /** Live figures once a second, for the progress line. */
  onTick?: (tick: Tick) => void;
}

/** Waiting for workers to answer `stop`, and then to end, is bounded. */
const RESULT_DEADLINE_MS = 5000;
const EXIT_DEADLINE_MS = 3000;

/**
 * Runs one load test: starts the workers, waits until every connection is settled, warms up,
 * measures for `--duration` (or until `--messages` are all echoed), stops the workers and
 * merges what they report.
 *
 * Phases: connect (traffic starts on each connection as soon as it is up) -> warm-up ->
 * measured window -> stop. A message-count run measures from the first message.
 *
 * @example
 *   const result = await runLoad(parseOptions({ clients: '100' }, 2), { log });
 */
export async function runLoad(options: LoadOptions, hooks: RunHooks): Promise<LoadResult> {
  const { log, signal } = hooks;
  // One after the other: a target that does not resolve is named before anything starts.
  const addresses: string[] = [];
  for (const target of options.targets) addresses.push(await resolve(target.host, target.port));
  const counts = options.workers;
  const counters = new SharedArrayBuffer(counts * SHARED_SLOTS * Float64Array.BYTES_PER_ELEMENT);
  const waiter = new Waiter();
  const results: WorkerResult[] = [];
  let ready = 0;
  let done = 0;
  let exited = 0;
  // A worker that reports and then exits must count once: per id, not per event.
  const finished = new Set<number>();
  let failure: LoadError | undefined;

  const onAbort = () => waiter.notify();
  signal?.addEventListener('abort', onAbort);
  const stopping = () => signal?.aborted === true || failure !== undefined;
  const messagesMode = options.messages !== undefined;

  const startsAt = performance.timeOrigin + performance.now();
  const workers = Array.from({ length: counts }, (_, worker) => {
    const config: WorkerConfig = {
      worker,
      workers: counts,
      clients: options.clients,
      targets: options.targets.map((target, i) => ({
        host: addresses[i]!,
        port: target.port,
        servername: isIP(target.host) === 0 ? target.host : undefined,
      })),
      payload: options.payload,
      pipeline: options.pipeline,
      rate: options.rate,
      connectRate: options.connectRate,
      connectTimeoutMs: options.connectTimeoutMs,
      timeoutMs: options.timeoutMs,
      messages: options.messages,
      tls: options.tls,
      proxyProtocol: options.proxyProtocol,
      measureFromStart: messagesMode,
      startsAt,
      counters,
    };
    const thread = new Worker(new URL('../worker/worker.js', import.meta.url), { workerData: config });
    thread.on('message', (message: WorkerMessage) => {
      if (message.type === 'result') {
        results.push(message);
        finished.add(worker);
      } else if (message.type === 'ready') {
        ready++;
      } else {
        done++;
      }
      waiter.notify();
    });
    thread.on('error', (error: Error) => {
      failure ??= new LoadError('EWORKER', `worker ${worker} failed: ${error.message}`);
      waiter.notify();
    });
    thread.on('exit', () => {
      exited++;
      finished.add(worker);
      waiter.notify();
    });
    return thread;
  });
  const post = (message: MainMessage) => {
    for (const thread of workers) thread.postMessage(message);
  };
  log.info({ targets: options.targets.map((target, i) => ({ target: target.name, address: addresses[i] })), clients: options.clients, workers: counts }, 'started');

  const sampler = new Sampler(new Float64Array(counters), counts, options.clients, hooks.onTick, log);
  sampler.start(messagesMode);
  let measureStart = messagesMode ? performance.now() : 0;
  let measureEnd = 0;
  const startedAt = new Date();
  try {
    await waiter.until(() => ready === counts || done === counts || stopping());
    log.info({ open: sampler.open(), failed: sampler.failed() }, 'connections settled');
    if (messagesMode) {
      await waiter.until(() => done === counts || stopping());
    } else {
      if (options.warmupMs > 0) await waiter.until(() => done === counts || stopping(), options.warmupMs);
      if (done < counts && !stopping()) {
        post({ type: 'measure' });
        measureStart = performance.now();
        sampler.start(true);
        log.info({ durationMs: options.durationMs }, 'measuring');
        await waiter.until(() => done === counts || stopping(), options.durationMs);
      }
    }
    measureEnd = performance.now();
    sampler.stop();
    log.info({ interrupted: signal?.aborted === true }, 'stopping');
    post({ type: 'stop' });
    await waiter.until(() => finished.size === counts || failure !== undefined, RESULT_DEADLINE_MS);
    await waiter.until(() => exited === counts, EXIT_DEADLINE_MS);
  } finally {
    sampler.stop();
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((thread) => thread.terminate()));
  }
  if (failure !== undefined) throw failure;
  if (results.length < counts) throw new LoadError('EWORKER', `${counts - results.length} worker(s) did not report`);

  return buildResult({
    options,
    addresses,
    workers: results,
    samples: sampler.samples,
    durationMs: messagesMode ? activeSpan(results) : measureStart === 0 ? 0 : measureEnd - measureStart,
    start: startedAt,
    finish: new Date(),
    interrupted: signal?.aborted === true,
  });
}

/** From the first message sent to the last echo received, over all workers. */
function activeSpan(results: readonly WorkerResult[]): number {
  const firsts = results.map((r) => r.counts.firstSendAt).filter((t) => t > 0);
  const lasts = results.map((r) => r.counts.lastEchoAt).filter((t) => t > 0);
  if (firsts.length === 0 || lasts.length === 0) return 0;
  return Math.max(0, Math.max(...lasts) - Math.min(...firsts));
}

/**
 * Resolves the host once, so that 50,000 connections do not make 50,000 DNS lookups, to the
 * first of its addresses where the server accepts connections.
 */
async function resolve(host: string, port: number): Promise<string> {
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
    throw new LoadError('EHOST', `cannot resolve host '${host}' (${code})`);
  }
  return firstReachable(addresses, port);
}
