export { startMetricsServer, MetricsServerError, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { createMetricsRegistry, CLOSE_REASONS, CONNECTION_DURATION_BUCKETS, type ServerCounters } from './registry.js';
export { addProcessMetrics, DROPPED_DEFAULT_METRICS } from './process-metrics.js';
