import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startPrometheus, type Prometheus } from '../metrics/prometheus.js';
import { dashboardQueries, metricNames, readsHaproxy, toPromQL } from './dashboard.js';
import { metricsPort } from './metrics-port.js';
import { requireTool } from './tools.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// HAProxy's panels need HAProxy: test/deploy/haproxy-cluster.test.ts runs those.
const queries = dashboardQueries().filter(({ expr }) => !readsHaproxy(expr));

/** The real echo-server CLI (a child process, killed after each test by the helper), after one
 * round trip, so that counters, the duration histogram and close reasons all have samples. */
async function serverWithTraffic(): Promise<ServerProcess> {
  const server = await startServerProcess(['--host', '127.0.0.1', '--metrics-port', '0']);
  const socket = net.connect({ host: '127.0.0.1', port: server.port });
  socket.end('hello, dashboard\n');
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe('HELLO, DASHBOARD\n');
  return server;
}

/** Runs every query until each returns data; resolves with what still fails after `limitMs`. */
async function unanswered(prometheus: Prometheus, limitMs: number): Promise<string[]> {
  const failures = new Map<string, string>();
  const deadline = Date.now() + limitMs;
  let pending = queries;
  for (;;) {
    const next: typeof queries = [];
    for (const query of pending) {
      const problem = await prometheus.query(toPromQL(query.expr)).then(
        (series) => (series.length > 0 ? undefined : 'no data'),
        (error: Error) => error.message,
      );
      failures.delete(query.expr);
      if (problem !== undefined) {
        failures.set(query.expr, `${query.panel}: ${query.expr}: ${problem}`);
        next.push(query);
      }
    }
    pending = next;
    if (pending.length === 0 || Date.now() > deadline) return [...failures.values()];
    await pause(1000);
  }
}

describe('every PromQL expression of the Grafana dashboard', () => {
  it('reads only metrics that echo-server exposes', async () => {
    const server = await serverWithTraffic();
    const exposition = await (await fetch(`http://127.0.0.1:${metricsPort(server)}/metrics`)).text();
    const exposed = new Set(exposition.split('\n').map((line) => /^[a-zA-Z_:][\w:]*/.exec(line)?.[0]));
    const missing = queries.flatMap(({ panel, expr }) =>
      metricNames(expr).filter((name) => !exposed.has(name)).map((name) => `${panel}: ${name}`),
    );
    expect(queries.length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('is accepted by a real Prometheus scraping the server, and returns data', async () => {
    requireTool('prometheus');
    const server = await serverWithTraffic();
    const prometheus = await startPrometheus(`127.0.0.1:${metricsPort(server)}`);
    try {
      await prometheus.waitFor('up{job="echo-server"}', (v) => v.length === 1 && v[0] === 1);
      // rate() over 30 s needs two scrapes (1 s apart) in its window: poll, bounded.
      expect(await unanswered(prometheus, 30_000)).toEqual([]);
      // The same Prometheus does reject what Grafana would send unsubstituted.
      await expect(prometheus.query('rate(echo_reads_total[$__interval])')).rejects.toThrow(/parse error/);
    } finally {
      await prometheus.stop();
    }
  }, 90_000);
});
