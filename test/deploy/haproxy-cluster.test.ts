import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { runLoadJson } from '../load/support/cli.js';
import { startPrometheus } from '../metrics/prometheus.js';
import { scrape } from '../metrics/scrape.js';
import { eventually } from '../support/eventually.js';
import { freePort, startHaproxy } from '../support/haproxy.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { dashboardQueries, haproxyMetricNames, readsHaproxy, toPromQL } from './dashboard.js';
import { backendServers, onLoopback, readHaproxyConfig } from './haproxy-config.js';
import { metricsPort } from './metrics-port.js';
import { requireTool, ROOT } from './tools.js';

/**
 * The Compose profile "cluster" without Docker: Debian's HAProxy runs deploy/haproxy/haproxy.cfg
 * itself (bound to loopback, its servers pointed at three local echo-server processes that
 * take the PROXY protocol v2 header from 127.0.0.1 only, as the replicas take it from the
 * cluster network), and the real echo-load goes through it.
 */

const CLIENTS = 30;
const MESSAGES = 3000;
const SIZE = 100;
const HOST = '127.0.0.1';

/** Two distinct free ports: HAProxy's echo frontend and its stats frontend. */
async function twoPorts(): Promise<[number, number]> {
  for (;;) {
    const [a, b] = [await freePort(), await freePort()];
    if (a !== b) return [a, b];
  }
}

/** One sample's value, or the sum of those whose key starts with `prefix`. */
function total(samples: Map<string, number>, prefix: string): number {
  let sum = 0;
  for (const [key, value] of samples) if (key.startsWith(prefix)) sum += value;
  return sum;
}

/** deploy/prometheus.yml's jobs for the cluster, scraping the loopback stand-ins every second. */
function prometheusConfig(replicas: readonly ServerProcess[], statsPort: number): string {
  const config = parseYaml(readFileSync(join(ROOT, 'deploy', 'prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const targets: Record<string, string[]> = {
    'echo-cluster': replicas.map((replica) => `${HOST}:${metricsPort(replica)}`),
    haproxy: [`${HOST}:${statsPort}`],
  };
  const jobs = config.scrape_configs.filter((job) => targets[job.job_name] !== undefined);
  expect(jobs.map((job) => job.job_name).sort()).toEqual(['echo-cluster', 'haproxy']);
  for (const job of jobs) job.static_configs = [{ targets: targets[job.job_name]! }];
  return stringifyYaml({ global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' }, scrape_configs: jobs });
}

describe('the Compose profile "cluster" for real: deploy/haproxy/haproxy.cfg in front of three echo-servers', () => {
  it('spreads echo-load\'s connections over all three replicas, each with its PROXY v2 header, every byte checked', async () => {
    requireTool('haproxy');
    const replicas = await Promise.all(
      [1, 2, 3].map(() => startServerProcess(['--proxy-protocol', 'v2', '--proxy-protocol-from', `${HOST}/32`, '--log-level', 'debug'])),
    );
    const [echoPort, statsPort] = await twoPorts();
    const config = onLoopback(readHaproxyConfig(), {
      echoPort,
      statsPort,
      replicas: replicas.map((replica) => ({ port: replica.port, metricsPort: metricsPort(replica) })),
    });
    // Ready once the stats frontend accepts (HAProxy binds every frontend before it serves
    // any): a probe of the echo frontend would itself become a connection to some replica.
    const haproxy = await startHaproxy(config, [{ host: HOST, port: statsPort }]);
    const names = backendServers(readHaproxyConfig()).map((server) => server.name);
    const stats = `http://${HOST}:${statsPort}`;
    try {
      // HAProxy's own view, from its Prometheus exporter: every replica passes its /healthz check.
      const up = (samples: Map<string, number>) =>
        names.filter((name) => samples.get(`haproxy_server_status{proxy="echo_replicas",server="${name}",state="UP"}`) === 1);
      await eventually(async () => up(await scrape(stats)).length === 3, 'HAProxy to see all three replicas up', 20_000, 100);

      // A fixed number of messages, so that the bytes are known exactly: echo-load checks
      // every one it gets back, and the replicas together must have echoed exactly those.
      const args = ['--host', HOST, '--port', String(echoPort), '--clients', String(CLIENTS), '--workers', '1'];
      const { code, result, stderr } = await runLoadJson([...args, '--messages', String(MESSAGES), '--size', String(SIZE), '--pipeline', '2']);
      expect(code, stderr).toBe(0);
      expect(result.errors).toBe(0);
      expect(result.mismatches).toBe(0);
      expect(result.connected).toBe(CLIENTS);
      expect(result.requests.total).toBe(MESSAGES);
      expect(result.throughput.total).toBe(MESSAGES * SIZE);

      // Each replica's own count: every one took some, together exactly the clients, and no
      // connection lacked its header or came from a peer the replica does not trust.
      const own = await Promise.all(replicas.map((replica) => scrape(`http://${HOST}:${metricsPort(replica)}`)));
      const accepted = own.map((samples) => samples.get('echo_connections_accepted_total{listener="plain"}') ?? 0);
      for (const count of accepted) expect(count, JSON.stringify(accepted)).toBeGreaterThan(0);
      expect(accepted.reduce((a, b) => a + b, 0)).toBe(CLIENTS);
      for (const samples of own) expect(total(samples, 'echo_proxy_header_failures_total{')).toBe(0);
      const sum = (name: string) => own.reduce((all, samples) => all + (samples.get(name) ?? 0), 0);
      // Received counts each connection's header too: a bare v2 header for TCP over IPv4 is
      // 28 bytes (16 + two addresses and ports), as send-proxy-v2 without options sends it.
      expect([sum('echo_received_bytes_total'), sum('echo_sent_bytes_total')]).toEqual([MESSAGES * SIZE + CLIENTS * 28, MESSAGES * SIZE]);
      // Each replica knew its clients: the header named echo-load's socket, not HAProxy's.
      const opened = () => replicas.flatMap((replica) => replica.logs.filter((line) => line.msg === 'connection open'));
      await eventually(() => opened().length === CLIENTS, 'a connection open line for each client');
      for (const line of opened()) {
        expect(line.client).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(line.client).not.toBe(line.peer);
      }
      // HAProxy counted the same connections to each replica.
      const view = await scrape(stats);
      expect(names.map((name) => view.get(`haproxy_server_sessions_total{proxy="echo_replicas",server="${name}"}`))).toEqual(accepted);
      expect(view.get('haproxy_frontend_connections_total{proxy="echo"}')).toBe(CLIENTS);
    } finally {
      await haproxy.stop();
    }
  }, 60_000);

  it('answers every HAProxy query of the Grafana dashboard, scraped as deploy/prometheus.yml scrapes it', async () => {
    requireTool('haproxy');
    requireTool('prometheus');
    const replicas = await Promise.all([1, 2, 3].map(() => startServerProcess(['--proxy-protocol', 'v2'])));
    const [echoPort, statsPort] = await twoPorts();
    const config = onLoopback(readHaproxyConfig(), {
      echoPort,
      statsPort,
      replicas: replicas.map((replica) => ({ port: replica.port, metricsPort: metricsPort(replica) })),
    });
    const haproxy = await startHaproxy(config, [{ host: HOST, port: statsPort }]);
    const queries = dashboardQueries().filter(({ expr }) => readsHaproxy(expr));
    try {
      // Every HAProxy metric the dashboard reads is one HAProxy exports (Debian's 2.6 here, 3.4 in the image).
      const exported = new Set([...(await scrape(`http://${HOST}:${statsPort}`)).keys()].map((key) => key.replace(/\{.*$/, '')));
      expect(queries.flatMap(({ panel, expr }) => haproxyMetricNames(expr).filter((name) => !exported.has(name)).map((name) => `${panel}: ${name}`))).toEqual([]);

      const prometheus = await startPrometheus({ config: prometheusConfig(replicas, statsPort) });
      try {
        await prometheus.waitFor('up', (values) => values.length === 4 && values.every((value) => value === 1));
        // rate() over 30 s needs two scrapes (1 s apart) in its window: poll, bounded.
        const unanswered = async () => {
          const empty: string[] = [];
          for (const { panel, expr } of queries) {
            if ((await prometheus.query(toPromQL(expr))).length === 0) empty.push(`${panel}: ${expr}`);
          }
          return empty;
        };
        let last: string[] = [];
        await eventually(async () => (last = await unanswered()).length === 0, 'every HAProxy query to return data', 30_000, 500).catch(() => {});
        expect(last).toEqual([]);
      } finally {
        await prometheus.stop();
      }
    } finally {
      await haproxy.stop();
    }
  }, 90_000);
});
