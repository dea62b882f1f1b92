import { isIP } from 'node:net';
import type { Logger } from '../../src/log.js';
import type { LoadOptions } from '../options/options.js';
import type { IntervalResult } from '../result/intervals.js';
import { buildResult, type LoadResult, type WorkerResult } from '../result/result.js';
import { SHARED_SLOTS } from '../worker/tally.js';
import type { WorkerConfig } from './messages.js';
import { checkLocalSources } from './local-sources.js';
import { resolveTargets } from './resolve.js';
import { Sampler, type Tick } from './sampler.js';
import { WorkerThreads } from './worker-threads.js';
import { IntervalCollector } from './interval-collector.js';

/** How the CLI watches and steers a run. */
export interface RunHooks {
  log: Logger;
  /** Aborting stops the run early; the result then covers what was measured (`interrupted`). */
  signal?: AbortSignal;
  /** Live figures once a second, for the progress line. */
  onTick?: (tick: Tick) => void;
  /** Each interval, summed over the worker threads, as soon as every thread has reported it. */
  onInterval?: (interval: IntervalResult) => void;
}

/**
 * Runs one load test: resolves the targets (of the `--source` family), checks that the sources
 * are local, starts the workers, waits until every connection is settled, warms up, measures
 * for `--duration` (or until `--messages` are all echoed), stops the workers and merges what
 * they report. A run that cannot take place throws a
 * `LoadError` (load-error.ts), or an `OptionError` when the options turn out unusable once the
 * targets are resolved (a source of another family than a target, a source not local).
 *
 * Phases: threads up -> connect (traffic starts on each connection as soon as it is up) -> warm-up ->
 * measured window -> stop. A message-count run measures from the first message.
 *
 * @example
 *   const result = await runLoad(parseOptions({ clients: '100' }, 2), { log });
 */
export async function runLoad(options: LoadOptions, hooks: RunHooks): Promise<LoadResult> {
  const { log, signal } = hooks;
  const sources = options.sources;
  const addresses = await resolveTargets(options.targets, sources.length === 0 ? undefined : (isIP(sources[0]!) as 4 | 6));
  // Only the sources some connection uses (a /16 for 100 clients binds about 100 addresses):
  // connection indexes stay below clients + idle + workers (the idle pool starts at the next
  // whole round of workers, fleet.ts), and grow without bound under --arrival-rate.
  const used = options.shape.arrivalRate > 0 ? sources.length : options.clients + options.shape.idle + options.workers;
  await checkLocalSources(sources.slice(0, used));
  const counters = new SharedArrayBuffer(options.workers * SHARED_SLOTS * Float64Array.BYTES_PER_ELEMENT);
  const collector = new IntervalCollector(options.workers, hooks.onInterval);
  const threads = new WorkerThreads(workerConfigs(options, addresses, counters), (interval) => collector.add(interval));
  const onAbort = () => threads.notify();
  signal?.addEventListener('abort', onAbort);
  const stopping = () => signal?.aborted === true || threads.failure !== undefined;
  log.info({ targets: options.targets.map((target, i) => ({ target: target.name, address: addresses[i] })), clients: options.clients, workers: threads.count }, 'started');

  const messagesMode = options.messages !== undefined;
  const sampler = new Sampler(new Float64Array(counters), threads.count, options.clients, hooks.onTick, log);
  sampler.start(messagesMode);
  const startedAt = new Date();
  let measuredMs: number;
  try {
    const measureStart = await runPhases(options, threads, sampler, stopping, log);
    measuredMs = measureStart === undefined ? 0 : performance.now() - measureStart;
    sampler.stop();
    log.info({ interrupted: signal?.aborted === true }, 'stopping');
    await threads.stop();
  } finally {
    sampler.stop();
    signal?.removeEventListener('abort', onAbort);
    await threads.terminate();
  }
  const reports = threads.reports();
  collector.finish();

  return buildResult({
    options,
    addresses,
    workers: reports,
    intervals: collector.intervals,
    samples: sampler.samples,
    durationMs: messagesMode ? activeSpan(reports) : measuredMs,
    start: startedAt,
    finish: new Date(),
    interrupted: signal?.aborted === true,
  });
}

/**
 * What each worker is given: the run's options it needs, its place in the run, and the targets'
 * addresses.
 */
function workerConfigs(options: LoadOptions, addresses: readonly string[], counters: SharedArrayBuffer): WorkerConfig[] {
  const targets = options.targets.map((target, i) => ({
    host: addresses[i]!,
    port: target.port,
    servername: isIP(target.host) === 0 ? target.host : undefined,
  }));
  return Array.from({ length: options.workers }, (_, worker) => ({
    worker,
    workers: options.workers,
    clients: options.clients,
    shape: options.shape,
    targets,
    payload: options.payload,
    pipeline: options.pipeline,
    rate: options.rate,
    connectRate: options.connectRate,
    connectTimeoutMs: options.connectTimeoutMs,
    timeoutMs: options.timeoutMs,
    messages: options.messages,
    tls: options.tls,
    proxyProtocol: options.proxyProtocol,
    intervalLengthMs: options.intervalLengthMs,
    sources: options.sources,
    measureFromStart: options.messages !== undefined,
    counters,
  }));
}

/**
 * Once every thread is up: connect, warm up and measure, until the workers are done or the
 * run is `stopping`. Resolves with performance.now() at the start of the measured window
 * (undefined if it never began); a message-count run has no window of its own (its duration
 * is the workers' active span).
 */
async function runPhases(options: LoadOptions, threads: WorkerThreads, sampler: Sampler, stopping: () => boolean, log: Logger): Promise<number | undefined> {
  const all = threads.count;
  // The connect schedule begins once every thread is up, not when the first was asked to
  // start: on a busy machine a thread can take hundreds of ms to come up, and one that came
  // late would open every connection already due at once (at 10/s, 10 connections over 2
  // workers arrived in 600-645 ms, not 900, with two CPU burners beside).
  await threads.until(() => threads.up === all || stopping());
  if (!stopping()) threads.post({ type: 'start', startsAt: performance.timeOrigin + performance.now() });
  // A ramp or an arrival rate opens connections all through the run: there is no moment when
  // all are settled, and the warm-up counts from the start.
  const { shape } = options;
  if (shape.stages === undefined && shape.arrivalRate === 0) {
    await threads.until(() => threads.ready === all || threads.done === all || stopping());
    log.info({ open: sampler.open(), failed: sampler.failed() }, 'connections settled');
  }
  const over = () => threads.done === all || stopping();
  if (options.messages !== undefined) {
    await threads.until(over);
    return undefined;
  }
  if (options.warmupMs > 0) await threads.until(over, options.warmupMs);
  if (over()) return undefined;
  threads.post({ type: 'measure' });
  const measureStart = performance.now();
  sampler.start(true);
  log.info({ durationMs: options.durationMs }, 'measuring');
  await threads.until(over, options.durationMs);
  return measureStart;
}

/** From the first message sent to the last echo received, over all workers. */
function activeSpan(results: readonly WorkerResult[]): number {
  const firsts = results.map((r) => r.counts.firstSendAt).filter((t) => t > 0);
  const lasts = results.map((r) => r.counts.lastEchoAt).filter((t) => t > 0);
  if (firsts.length === 0 || lasts.length === 0) return 0;
  return Math.max(0, Math.max(...lasts) - Math.min(...firsts));
}
