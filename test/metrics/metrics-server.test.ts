import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsRegistry, MetricsServerError, startMetricsServer, type MetricsServer } from '../../src/metrics/index.js';
import { ServerStats } from '../../src/server/stats.js';
import { createLogger } from '../../src/log.js';
import { get } from './scrape.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const open: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

async function start() {
  const server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    registry: createMetricsRegistry({ stats: new ServerStats(), version: '9.8.7' }),
    logger,
  });
  open.push(server);
  return { server, base: `http://127.0.0.1:${server.port}` };
}

describe('metrics server', () => {
  it('serves the Prometheus text format on /metrics', async () => {
    const { base } = await start();
    const reply = await get(`${base}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.body).toContain('# TYPE echo_received_bytes_total counter\n');
    expect(reply.body).toContain(`echo_build_info{version="9.8.7",node_version="${process.version}"} 1\n`);
    expect(reply.body).toContain('# TYPE nodejs_eventloop_lag_seconds gauge\n');
    expect(reply.body).toContain('# TYPE process_cpu_seconds_total counter\n');
  });

  it('ignores a query string', async () => {
    const { base } = await start();
    expect((await get(`${base}/metrics?x=1`)).status).toBe(200);
    expect((await get(`${base}/healthz?probe=k8s`)).body).toBe('ok\n');
  });

  it('answers /healthz with 200 while serving and 503 once shutdown began', async () => {
    const { server, base } = await start();
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    server.setHealthy(false);
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 503, body: 'shutting down\n' });
    // Metrics stay available while the server drains.
    expect((await get(`${base}/metrics`)).status).toBe(200);
  });

  it('answers 404 on any other path', async () => {
    const { base } = await start();
    for (const path of ['/', '/metric', '/metrics/', '/healthz/x', '/favicon.ico']) {
      expect(await get(`${base}${path}`), path).toMatchObject({ status: 404, body: 'not found\n' });
    }
  });

  it('answers 405 to methods other than GET and HEAD', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    await response.text();
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('closes even while a scraper holds a keep-alive connection', async () => {
    const { server, base } = await start();
    const response = await fetch(`${base}/metrics`); // undici keeps the connection open
    await response.text();
    await server.close();
    await server.close(); // idempotent
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('fails with the cause code when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const attempt = startMetricsServer({
        host: '127.0.0.1',
        port,
        registry: createMetricsRegistry({ stats: new ServerStats(), version: '0' }),
        logger,
      });
      await expect(attempt).rejects.toBeInstanceOf(MetricsServerError);
      await expect(attempt).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await expect(attempt).rejects.toThrow(`cannot serve metrics on 127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
  });
});
