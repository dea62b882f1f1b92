import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';

/** One worker's metrics as it reported them (`snapshot`), or undefined if it did not answer. */
export interface WorkerMetrics {
  worker: number;
  metrics: object[] | undefined;
}

/**
 * A worker's registry as plain data, to cross the IPC channel to its primary.
 *
 * @example
 *   process.send({ type: 'metrics', id, metrics: await snapshot(registry) });
 */
export function snapshot(registry: Registry): Promise<object[]> {
  return registry.getMetricsAsJSON();
}

/**
 * The registry the primary of `--workers` shows: every worker's metrics added up
 * (prom-client's aggregation: sums, or each metric's own `aggregator`), plus the balance,
 * `echo_worker_connections_active{worker}`, and `echo_worker_restarts_total`. A worker that
 * did not answer in time is left out of this one scrape.
 *
 * @example
 *   const registry = aggregateWorkers([{ worker: 1, metrics }, { worker: 2, metrics }], restarts);
 */
export function aggregateWorkers(reports: readonly WorkerMetrics[], restarts: number): Registry {
  const own = new Registry();
  const perWorker = new Gauge({
    name: 'echo_worker_connections_active',
    help: 'Client connections open now, by worker: how evenly the kernel spreads them.',
    labelNames: ['worker'],
    registers: [own],
  });
  new Counter({ name: 'echo_worker_restarts_total', help: 'Workers that died and were replaced.', registers: [own] }).inc(restarts);
  const present: object[][] = [];
  for (const { worker, metrics } of reports) {
    if (metrics === undefined) continue;
    present.push(metrics);
    perWorker.set({ worker: String(worker) }, openConnections(metrics));
  }
  return Registry.merge([AggregatorRegistry.aggregate(present) as Registry, own]) as Registry;
}

/** A worker's `echo_connections_active`, summed over its listeners. */
function openConnections(metrics: object[]): number {
  const active = (metrics as Array<{ name: string; values: Array<{ value: number }> }>).find((m) => m.name === 'echo_connections_active');
  return active?.values.reduce((sum, { value }) => sum + value, 0) ?? 0;
}
