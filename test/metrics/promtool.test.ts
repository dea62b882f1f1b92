import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { ServerStats } from '../../src/server/stats.js';

/** Runs Debian's `promtool check metrics` (the real linter) over `text`. */
function promtoolCheck(text: string): { status: number | null; problems: string[] } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw result.error;
  const problems = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  return { status: result.status, problems };
}

/** Keeps the metric families (HELP, TYPE and samples) whose name starts with `prefix`. */
function familiesStartingWith(text: string, prefix: string): string {
  const blocks = text.split(/(?=^# HELP )/m);
  return blocks.filter((block) => block.startsWith(`# HELP ${prefix}`)).join('');
}

async function exposition(): Promise<string> {
  const stats = new ServerStats();
  const registry = createMetricsRegistry({ stats, version: '0.1.0' });
  // Non-zero values everywhere, so that every sample line is exercised.
  stats.acceptedBy.plain = stats.activeBy.plain = 3;
  stats.acceptedBy.tls = stats.activeBy.tls = 2;
  stats.connectionClosed('plain', 'idle', 0.2);
  stats.tlsHandshakeFailures.timeout = stats.proxyHeaderFailures.malformed = stats.tlsReloads.ok = 1;
  stats.bytesReceived = stats.bytesSent = 1024;
  return registry.metrics();
}

describe('exposition', () => {
  it("passes promtool's checks for every echo_* metric", async () => {
    const own = familiesStartingWith(await exposition(), 'echo_');
    // The names and types the Grafana dashboard is built on.
    expect(own.match(/^# TYPE .*$/gm)).toEqual([
      '# TYPE echo_connections_active gauge',
      '# TYPE echo_connections_accepted_total counter',
      '# TYPE echo_connections_rejected_total counter',
      '# TYPE echo_connections_closed_total counter',
      '# TYPE echo_tls_handshake_failures_total counter',
      '# TYPE echo_proxy_header_failures_total counter',
      '# TYPE echo_tls_reloads_total counter',
      '# TYPE echo_received_bytes_total counter',
      '# TYPE echo_sent_bytes_total counter',
      '# TYPE echo_reads_total counter',
      '# TYPE echo_backpressure_pauses_total counter',
      '# TYPE echo_connection_duration_seconds histogram',
      '# TYPE echo_tasks_active gauge',
      '# TYPE echo_tasks_spawned_total counter',
      '# TYPE echo_tasks_failed_total counter',
      '# TYPE echo_blocked_loop_events_total counter',
      '# TYPE echo_build_info gauge',
    ]);
    expect(promtoolCheck(own)).toEqual({ status: 0, problems: [] });
    // One series per cause, there before the first event, so that dashboards have data.
    expect(own.match(/^echo_blocked_loop_events_total.*$/gm)).toEqual([
      'echo_blocked_loop_events_total{cause="task"} 0',
      'echo_blocked_loop_events_total{cause="outside"} 0',
      'echo_blocked_loop_events_total{cause="busy"} 0',
    ]);
  });

  it('passes promtool as a whole, default process and Node.js metrics included', async () => {
    expect(promtoolCheck(await exposition())).toEqual({ status: 0, problems: [] });
  });

  it('is caught by promtool when a metric is misnamed', () => {
    const bad = '# HELP echo_bytes Bytes.\n# TYPE echo_bytes counter\necho_bytes 1\n';
    const result = promtoolCheck(bad);
    expect(result.status).not.toBe(0);
    expect(result.problems.join('\n')).toContain('counter metrics should have "_total" suffix');
  });
});
