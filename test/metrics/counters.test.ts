import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from '../../src/metrics/index.js';
import { ServerStats } from '../../src/server/stats.js';
import { createLogger } from '../../src/log.js';
import { BLOCKED_LOOP_CAUSES, setFailureReporter, sleep, spawn, startBlockedLoopMonitor, type BlockedLoopCause } from '../../src/tasks/index.js';
import { spin } from '../tasks/fixtures/spin.js';
import { eventually } from '../support/eventually.js';
import { scrape } from './scrape.js';

// Every echo_* metric must equal the plain number behind it at the moment of the scrape.

const logger = createLogger({ name: 'test', level: 'silent' });
const open: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

/**
 * A metrics endpoint over server counters of its own, fresh for each test (the task runtime's
 * and the detector's counters are the process's: tests read those as differences).
 */
async function serveStats(): Promise<{ stats: ServerStats; base: string }> {
  const stats = new ServerStats();
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: createMetricsRegistry({ stats, version: '1.2.3' }), logger });
  open.push(server);
  return { stats, base: `http://127.0.0.1:${server.port}` };
}

describe('echo metrics', () => {
  it('read the server counters exactly, at scrape time', async () => {
    const { stats, base } = await serveStats();
    stats.acceptedBy.plain = 9;
    stats.acceptedBy.tls = 3;
    stats.activeBy.plain = 9;
    stats.activeBy.tls = 3;
    stats.connectionsRejected = 4;
    stats.tlsHandshakeFailures.certificate = 2;
    stats.proxyHeaderFailures.untrusted = 6;
    stats.tlsReloads.failed = 1;
    stats.bytesReceived = 123_456_789_012; // beyond 32 bits: no truncation
    stats.bytesSent = 123_456_789_000;
    stats.reads = 70_001;
    stats.backpressurePauses = 17;
    stats.connectionClosed('plain', 'client', 0.5);
    stats.connectionClosed('plain', 'client', 0.5);
    stats.connectionClosed('plain', 'idle', 0.5);
    stats.connectionClosed('plain', 'error', 0.5);
    stats.connectionClosed('tls', 'error', 0.5);
    stats.connectionClosed('tls', 'error', 0.5);
    stats.connectionClosed('plain', 'shutdown', 0.5);
    const samples = await scrape(base);
    expect(samples.get('echo_connections_active{listener="plain"}')).toBe(4);
    expect(samples.get('echo_connections_active{listener="tls"}')).toBe(1);
    expect(samples.get('echo_connections_accepted_total{listener="plain"}')).toBe(9);
    expect(samples.get('echo_connections_accepted_total{listener="tls"}')).toBe(3);
    expect(samples.get('echo_tls_handshake_failures_total{reason="certificate"}')).toBe(2);
    expect(samples.get('echo_tls_handshake_failures_total{reason="timeout"}')).toBe(0);
    expect(samples.get('echo_proxy_header_failures_total{reason="untrusted"}')).toBe(6);
    expect(samples.get('echo_proxy_header_failures_total{reason="malformed"}')).toBe(0);
    expect(samples.get('echo_tls_reloads_total{result="failed"}')).toBe(1);
    expect(samples.get('echo_tls_reloads_total{result="ok"}')).toBe(0);
    expect(samples.get('echo_connections_closed_total{reason="setup"}')).toBe(0);
    expect(samples.get('echo_connections_rejected_total')).toBe(4);
    expect(samples.get('echo_connections_closed_total{reason="client"}')).toBe(2);
    expect(samples.get('echo_connections_closed_total{reason="idle"}')).toBe(1);
    expect(samples.get('echo_connections_closed_total{reason="error"}')).toBe(3);
    expect(samples.get('echo_connections_closed_total{reason="shutdown"}')).toBe(1);
    expect(samples.get('echo_received_bytes_total')).toBe(123_456_789_012);
    expect(samples.get('echo_sent_bytes_total')).toBe(123_456_789_000);
    expect(samples.get('echo_reads_total')).toBe(70_001);
    expect(samples.get('echo_backpressure_pauses_total')).toBe(17);

    // A second scrape follows the numbers; counters never double up.
    stats.bytesReceived += 1;
    stats.connectionsRejected += 1;
    const again = await scrape(base);
    expect(again.get('echo_received_bytes_total')).toBe(123_456_789_013);
    expect(again.get('echo_connections_rejected_total')).toBe(5);
    expect(again.get('echo_connections_closed_total{reason="error"}')).toBe(3);
  });

  it('put each finished connection in the duration histogram once', async () => {
    const { stats, base } = await serveStats();
    const empty = await scrape(base);
    expect(empty.get('echo_connection_duration_seconds_count')).toBe(0);
    stats.activeBy.plain += 3;
    stats.connectionClosed('plain', 'client', 0.003);
    stats.connectionClosed('plain', 'client', 42);
    stats.connectionClosed('plain', 'idle', 7200);
    const samples = await scrape(base);
    const count = (le: string) => samples.get(`echo_connection_duration_seconds_bucket{le="${le}"}`);
    expect(count('0.0025')).toBe(0);
    expect(count('0.005')).toBe(1);
    expect(count('30')).toBe(1);
    expect(count('60')).toBe(2);
    expect(count('3600')).toBe(2);
    expect(count('+Inf')).toBe(3);
    expect(samples.get('echo_connection_duration_seconds_count')).toBe(3);
    expect(samples.get('echo_connection_duration_seconds_sum')).toBeCloseTo(7242.003, 6);
  });

  it('read the task counters exactly', async () => {
    const { base } = await serveStats();
    const reported: number[] = [];
    setFailureReporter((task) => reported.push(task.id));
    const before = await scrape(base);
    const parked = Array.from({ length: 4 }, () => spawn(() => sleep(60_000)));
    const failing = Array.from({ length: 3 }, () =>
      spawn(function* () {
        throw new Error('expected by the test');
      }),
    );
    for (const task of failing) await task.join();
    const during = await scrape(base);
    const delta = (name: string, samples = during) => samples.get(name)! - before.get(name)!;
    expect(delta('echo_tasks_spawned_total')).toBe(7);
    expect(delta('echo_tasks_failed_total')).toBe(3);
    expect(delta('echo_tasks_active')).toBe(4);
    expect(reported).toEqual(failing.map((task) => task.id));
    for (const task of parked) task.kill();
    const after = await scrape(base);
    expect(delta('echo_tasks_active', after)).toBe(0);
    expect(delta('echo_tasks_failed_total', after)).toBe(3);
  });

  it('count blocked-loop events by cause, as the detector reports them', async () => {
    const { base } = await serveStats();
    const count = (samples: Map<string, number>, cause: BlockedLoopCause) =>
      samples.get(`echo_blocked_loop_events_total{cause="${cause}"}`)!;
    const before = await scrape(base);
    const reported = Object.fromEntries(BLOCKED_LOOP_CAUSES.map((cause) => [cause, 0])) as Record<BlockedLoopCause, number>;
    const monitor = startBlockedLoopMonitor({ maxBlockingMs: 50, onBlocked: (event) => reported[event.cause]++ });
    try {
      await monitor.ready;
      for (let i = 1; i <= 2; i++) {
        spin(250); // hold the loop outside any task, as a callback that forgets to return would
        await eventually(() => reported.outside + reported.busy >= i, `stall ${i} to be reported`);
      }
      const task = spawn(function* greedy() {
        spin(250); // and inside one
      });
      await task.join();
      await eventually(() => reported.task === 1, 'the greedy task to be reported');
    } finally {
      await monitor.stop();
    }
    // Every stall was reported (a loaded machine may add late beats of its own); the metric
    // counts exactly what the detector reported, under each cause.
    expect(reported.outside + reported.busy).toBeGreaterThanOrEqual(2);
    expect(reported.task).toBe(1);
    const after = await scrape(base);
    for (const cause of BLOCKED_LOOP_CAUSES) expect(count(after, cause) - count(before, cause), cause).toBe(reported[cause]);
  });
});
