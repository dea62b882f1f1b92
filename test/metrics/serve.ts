import { afterEach } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startMetricsServer } from '../../src/metrics/index.js';
import { startEchoServer, type EchoServer, type ServerOptions } from '../../src/server/index.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const running: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop();
});

/**
 * A real echo server on 127.0.0.1 with its real metrics endpoint, both on free ports and both
 * stopped after the test. `base` is the endpoint's URL.
 */
export async function serveWithMetrics(
  options: Partial<ServerOptions> = {},
): Promise<{ server: EchoServer; metricsPort: number; base: string }> {
  const server = await startEchoServer({ host: '127.0.0.1', port: 0, shutdownTimeoutMs: 0, logger, ...options });
  running.push(() => server.shutdown());
  const metrics = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    stats: server.stats,
    isHealthy: () => server.serving,
    logger,
    version: 'test',
  });
  running.push(() => metrics.close());
  return { server, metricsPort: metrics.port, base: `http://127.0.0.1:${metrics.port}` };
}
