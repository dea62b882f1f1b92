import { spawnSync } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { encodeProxyHeader } from '../../load/worker/proxy-header.js';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { PROXY_HEADER_FAILURES, ServerStats, TLS_HANDSHAKE_FAILURES } from '../../src/server/stats.js';
import { metricsPort } from '../deploy/metrics-port.js';
import { makeCertificates } from '../support/certificates.js';
import { converse } from '../support/conversation.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess } from '../support/server-process.js';
import { get, parseSamples } from './scrape.js';

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
      'echo_blocked_loop_events_total{cause="unscheduled"} 0',
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

  it('passes promtool on a real echo-server’s /metrics with TLS and the PROXY protocol on, after traffic and faults of both', async () => {
    const certs = await makeCertificates();
    try {
      const server = await startServerProcess(['--proxy-protocol', 'any', '--tls-port', '0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile]);
      const tlsPort = server.logs.find((line) => line.msg === 'listening')!.tlsPort as number;
      const header = encodeProxyHeader(2, { address: '192.0.2.5', port: 5555 }, { address: '127.0.0.1', port: 8090 });
      // A plain echo behind a header, a malformed header, and on the TLS listener a header then
      // a TLS echo, and a header then plaintext (a handshake fault).
      expect((await converse(server.port, Buffer.concat([header, Buffer.from('plain')]))).reply.toString()).toBe('PLAIN');
      expect((await converse(server.port, Buffer.from('PROXY nonsense\r\n'))).reply.length).toBe(0);
      const raw = net.connect(tlsPort, '127.0.0.1');
      await new Promise((resolve) => raw.once('connect', resolve));
      raw.write(header);
      const secure = tls.connect({ socket: raw, ca: certs.ca.cert, servername: 'localhost' });
      const reply = new Promise<string>((resolve) => secure.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      secure.write('secure');
      expect(await reply).toBe('SECURE');
      secure.end();
      expect((await converse(tlsPort, Buffer.concat([header, Buffer.from('GET / HTTP/1.0\r\n\r\n')]))).reply.length).toBe(0);

      const base = `http://127.0.0.1:${metricsPort(server)}`;
      let text = '';
      await eventually(
        async () => {
          text = (await get(`${base}/metrics`)).body;
          const samples = parseSamples(text);
          return samples.get('echo_tls_handshake_failures_total{reason="protocol"}') === 1 && samples.get('echo_connections_closed_total{reason="setup"}') === 2;
        },
        'both faults counted',
        20_000,
        50,
      );
      expect(promtoolCheck(text)).toEqual({ status: 0, problems: [] });
      const samples = parseSamples(text);
      // Every reason of both failure metrics is a series, the faults under their own.
      expect(PROXY_HEADER_FAILURES.map((reason) => samples.get(`echo_proxy_header_failures_total{reason="${reason}"}`))).toEqual(
        PROXY_HEADER_FAILURES.map((reason) => (reason === 'malformed' ? 1 : 0)),
      );
      expect(TLS_HANDSHAKE_FAILURES.map((reason) => samples.get(`echo_tls_handshake_failures_total{reason="${reason}"}`))).toEqual(
        TLS_HANDSHAKE_FAILURES.map((reason) => (reason === 'protocol' ? 1 : 0)),
      );
      expect([samples.get('echo_connections_accepted_total{listener="plain"}'), samples.get('echo_connections_accepted_total{listener="tls"}')]).toEqual([2, 2]);
    } finally {
      await certs.cleanup();
    }
  }, 60_000);
});
