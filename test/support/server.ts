import { afterEach } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMetricsRegistry, startMetricsServer } from '../../src/metrics/index.js';
import { startEchoServer, type EchoServer, type ServerOptions } from '../../src/server/index.js';

/** A real echo server started in this process for one test: see `startServer`. */
export interface TestServer {
  server: EchoServer;
  /** The echo port on 127.0.0.1. */
  port: number;
}

/** A test server with its real metrics endpoint beside it. */
export interface TestServerWithMetrics extends TestServer {
  metricsPort: number;
  /** The endpoint's URL, `http://127.0.0.1:<metricsPort>`. */
  base: string;
}

/** The server's options (any of them), and whether to serve metrics too. */
export type TestServerOptions = Partial<ServerOptions> & { metrics?: boolean };

const silent = createLogger({ name: 'test', level: 'silent' });
const running: Array<() => Promise<unknown>> = [];

// Registered when a test file first imports this module, so it runs after each of its tests:
// every server a test started is gone before the next test begins.
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

/**
 * Starts the real echo server (src/server) in this process on 127.0.0.1, port 0, and, with
 * `metrics: true`, its real metrics endpoint on another free port; resolves once both listen.
 * Both are stopped after the test (the server first, as echo-server does), so each test gets
 * a server, and counters, of its own. `shutdownTimeoutMs` defaults to 0 here: teardown does
 * not wait for clients a test left open.
 *
 * @example
 *   const { server, port } = await startServer({ maxConnections: 3 });
 *   const { server, port, base } = await startServer({ metrics: true, idleTimeoutMs: 1000 });
 *   await scrape(base);
 */
export async function startServer(options?: TestServerOptions & { metrics?: false }): Promise<TestServer>;
export async function startServer(options: TestServerOptions & { metrics: true }): Promise<TestServerWithMetrics>;
export async function startServer(options: TestServerOptions = {}): Promise<TestServer | TestServerWithMetrics> {
  const { metrics: withMetrics = false, ...overrides } = options;
  const server = await startEchoServer({ host: '127.0.0.1', port: 0, shutdownTimeoutMs: 0, ...overrides });
  running.push(() => server.shutdown());
  if (!withMetrics) return { server, port: server.port };
  const metrics = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    registry: createMetricsRegistry({ stats: server.stats, version: 'test' }),
    logger: overrides.logger ?? silent,
  });
  void server.stopping.wait().then(() => metrics.setHealthy(false));
  running.push(() => metrics.close());
  return { server, port: server.port, metricsPort: metrics.port, base: `http://127.0.0.1:${metrics.port}` };
}
