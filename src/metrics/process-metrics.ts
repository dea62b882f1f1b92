import { opendir } from 'node:fs/promises';
import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default metrics that walk every open handle or descriptor on the main thread
 * at each scrape. Measured: about 1.7 µs per open socket each, so at 50,000 connections one
 * scrape would hold the event loop for over 100 ms, longer than `--max-blocking`. The `_total`
 * ones are also gauges misnamed as counters (promtool flags them). `echo_connections_active`
 * says what they would; `process_open_fds` is counted off the main thread below.
 */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_active_requests_total',
  'process_open_fds',
] as const;

/**
 * Adds prom-client's default process and Node.js metrics (CPU, memory, heap, GC, event loop
 * lag, ...) to `registry`, minus `DROPPED_DEFAULT_METRICS`, plus `process_open_fds` counted
 * in batches so that no scrape blocks the loop for long, whatever the number of connections.
 *
 * @example
 *   addProcessMetrics(registry);
 */
export function addProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  if (process.platform !== 'linux') return; // /proc/self/fd is Linux's
  let lastCount = 0;
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers: [registry],
    async collect() {
      // Listing needs a descriptor of its own: when they have run out (EMFILE), report the
      // last count rather than fail the whole scrape just when operators need it.
      lastCount = await countOpenFds().catch(() => lastCount);
      this.set(lastCount);
    },
  });
}

/** Counts /proc/self/fd, read by libuv's thread pool a batch at a time. */
async function countOpenFds(): Promise<number> {
  let count = 0;
  const dir = await opendir('/proc/self/fd', { bufferSize: 256 });
  for await (const _entry of dir) count++;
  return count - 1; // the descriptor the listing itself holds
}
