import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATASOURCE_FILE, dashboardQueries, metricNames, readDashboard, readsHaproxy } from './dashboard.js';
import { backendServers, readHaproxyConfig } from './haproxy-config.js';
import { ROOT } from './tools.js';

const dashboard = readDashboard();
const datasource = readFileSync(DATASOURCE_FILE, 'utf8');

describe('the provisioned Grafana dashboard', () => {
  it('queries the provisioned Prometheus data source, by its fixed uid, in every panel and target', () => {
    const uid = /^\s+uid: (\S+)$/m.exec(datasource)?.[1];
    expect(uid).toBe('prometheus');
    expect(datasource).toMatch(/^\s+url: http:\/\/prometheus:9090$/m);
    for (const panel of dashboard.panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid });
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid });
      const refIds = panel.targets.map((target) => target.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
  });

  it('lays out panels with unique ids on the 24-column grid without overlaps', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { title, gridPos } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('shows connections, messages and bytes per second, duration quantiles, loop lag, blocked-loop events and memory', () => {
    const used = new Set(dashboardQueries().flatMap(({ expr }) => metricNames(expr)));
    for (const metric of [
      'echo_connections_active',
      'echo_reads_total',
      'echo_received_bytes_total',
      'echo_sent_bytes_total',
      'echo_connection_duration_seconds_bucket',
      'nodejs_eventloop_lag_p99_seconds',
      'echo_blocked_loop_events_total',
      'process_resident_memory_bytes',
    ]) {
      expect(used.has(metric), metric).toBe(true);
    }
    const quantiles = dashboardQueries().filter(({ expr }) => expr.startsWith('histogram_quantile('));
    expect(quantiles.map(({ expr }) => /^histogram_quantile\(([\d.]+),/.exec(expr)?.[1])).toEqual(['0.5', '0.9', '0.99']);
  });

  it('shows blocked-loop events by cause, so that a busy loop is never taken for a blocking task', () => {
    const targets = dashboard.panels
      .flatMap((panel) => panel.targets)
      .filter(({ expr }) => expr.includes('echo_blocked_loop_events_total'));
    expect(targets.map(({ expr, legendFormat }) => [expr, legendFormat])).toEqual([
      ['sum by (cause) (increase(echo_blocked_loop_events_total[$__rate_interval]))', 'blocked loop: {{cause}}'],
    ]);
  });

  it('shows each server by instance: the replicas behind HAProxy, the pods on Kubernetes', () => {
    const byInstance = dashboardQueries().filter(({ expr }) => expr.startsWith('sum by (instance'));
    const metrics = byInstance.flatMap(({ expr }) => metricNames(expr)).sort();
    expect(metrics).toEqual(['echo_connections_active', 'echo_proxy_header_failures_total', 'echo_reads_total']);
    for (const panel of dashboard.panels.filter((p) => p.targets.some((t) => t.expr.startsWith('sum by (instance')))) {
      expect(panel.targets.every((t) => t.legendFormat?.includes('{{instance}}')), panel.title).toBe(true);
    }
  });

  it('shows HAProxy\'s view of the replicas, by the names haproxy.cfg gives its frontend, backend and servers', () => {
    const haproxy = dashboardQueries().filter(({ expr }) => readsHaproxy(expr));
    expect(haproxy.length).toBeGreaterThanOrEqual(5);
    const config = readHaproxyConfig();
    for (const { panel, expr } of haproxy) {
      for (const [, proxy] of expr.matchAll(/proxy="([^"]+)"/g)) {
        expect(config, `${panel}: ${expr}`).toMatch(new RegExp(`^(frontend|backend) ${proxy}$`, 'm'));
      }
    }
    // One line per replica: by HAProxy's server label, which is the replica's name.
    const bySession = dashboard.panels.find((p) => p.targets.some((t) => t.expr.startsWith('haproxy_server_current_sessions')))!;
    expect(bySession.targets[0]!.legendFormat).toBe('{{server}}');
    expect(backendServers(config).map((s) => s.name)).toEqual(['echo-1', 'echo-2', 'echo-3']);
  });

  it('is loaded by the dashboard provider from where Compose mounts it, and is Grafana\'s home page', () => {
    const provider = readFileSync(join(ROOT, 'deploy', 'grafana', 'provisioning', 'dashboards', 'echo.yml'), 'utf8');
    expect(provider).toMatch(/^\s+path: \/etc\/grafana\/dashboards$/m);
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('- ./deploy/grafana/dashboards:/etc/grafana/dashboards:ro');
    expect(compose).toContain('GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: /etc/grafana/dashboards/echo.json');
  });
});
