export { startMetricsServer, MetricsServerError, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { createMetricsRegistry, CONNECTION_DURATION_BUCKETS, type ServerCounters } from './registry.js';
export { addProcessMetrics, DROPPED_DEFAULT_METRICS } from './process-metrics.js';
export { aggregateWorkers, snapshot, type WorkerMetrics } from './workers.js';
