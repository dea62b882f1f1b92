import { describe, expect, it } from 'vitest';
import { formatBytes, formatMs } from '../../../load/report/format.js';
import { formatReport } from '../../../load/report/report.js';
import type { LoadResult } from '../../../load/result/result.js';
import { describeRates } from '../../../load/result/result.js';

function result(overrides: Partial<LoadResult> = {}): LoadResult {
  return {
    host: '127.0.0.1',
    address: '127.0.0.1',
    port: 8090,
    connections: 500,
    connected: 500,
    held: 497,
    expectHeld: 500,
    closed: 0,
    disrupted: 0,
    reconnects: 0,
    unechoedBytes: 0,
    idle: { connections: 0, held: 0 },
    arrivalRate: 0,
    reconnecting: false,
    workers: 2,
    pipelining: 1,
    rate: 0,
    size: 64,
    tls: false,
    proxyProtocol: 'off',
    duration: 10.004,
    samples: 10,
    sampleInt: 1000,
    start: '2025-01-01T00:00:00.000Z',
    finish: '2025-01-01T00:00:10.004Z',
    errors: 3,
    refused: 0,
    handshakeFailures: 0,
    resets: 1,
    timeouts: 0,
    mismatches: 2,
    portsExhausted: 0,
    interrupted: false,
    latency: { average: 1.5, mean: 1.5, stddev: 0.5, min: 0.2, max: 42.125, p50: 1.25, p90: 2.5, p99: 7.75, p99_9: 12.5, totalCount: 1_049_503 },
    connect: { average: 0.3, mean: 0.3, stddev: 0.1, min: 0.1, max: 1003.5, p50: 0.25, p90: 0.5, p99: 0.75, p99_9: 1001, totalCount: 500 },
    firstEcho: { average: 40, mean: 40, stddev: 300, min: 0.5, max: 3120, p50: 2, p90: 3, p99: 1500, p99_9: 3100, totalCount: 499 },
    requests: { ...describeRates([100_000, 110_000], 1_050_000, 10), total: 1_050_000, sent: 1_050_497 },
    throughput: { ...describeRates([6_400_000, 7_040_000], 67_200_000, 10), total: 67_200_000 },
    failures: { mismatch: "connection 3, byte 17: expected 0x41 'A', got 0x61 'a'", reset: 'connection reset by peer (ECONNRESET), connection 9' },
    ...overrides,
  };
}

describe('the human report', () => {
  it('shows latency percentiles, rates, totals, connections held and every error count', () => {
    const text = formatReport(result());
    expect(text).toMatch(/^echo-load: 500 connections to 127\.0\.0\.1:8090 over 2 workers, 64 B messages, pipeline 1$/m);
    expect(text).toMatch(/│ Echo latency │ 1\.25 ms +│ 2\.50 ms +│ 7\.75 ms +│ 12\.50 ms +│ 1\.50 ms +│ 0\.500 ms +│ 42\.13 ms +│ 1,049,503 │/);
    expect(text).toMatch(/│ Msg\/Sec +│ 100,000 +│ 100,000 +│ 110,000 +│ 105,000 +│ 5,000 +│ 100,000 +│ 110,000 +│/);
    expect(text).toContain(`│ ${formatBytes(6_400_000)}`);
    expect(text).toContain('1,050,000 messages echoed in 10.00 s, 67.2 MB read: every byte as sent, upper-cased, but for the 2 mismatches below');
    expect(text).toMatch(/^497 of 500 connections held$/m);
    expect(text).toMatch(/^3 errors: 0 refused, 1 resets, 0 timeouts, 2 mismatches$/m);
    expect(text).toContain("  first mismatch: connection 3, byte 17: expected 0x41 'A', got 0x61 'a'");
    expect(text).toContain('  first reset: connection reset by peer (ECONNRESET), connection 9');
    expect(text).not.toContain('interrupted');
  });

  it('says what the byte check found: all as sent, as sent but for mismatches, or nothing to check', () => {
    const clean = { errors: 0, resets: 0, mismatches: 0, failures: {} };
    expect(formatReport(result(clean))).toMatch(/^1,050,000 messages echoed in 10\.00 s, 67\.2 MB read: every byte as sent, upper-cased$/m);
    expect(formatReport(result({ errors: 1, resets: 0, mismatches: 1 }))).toMatch(/ read: every byte as sent, upper-cased, but for the 1 mismatch below$/m);
    const none = { requests: { ...describeRates([], 0, 10), total: 0, sent: 5 }, throughput: { ...describeRates([], 0, 10), total: 0 } };
    expect(formatReport(result({ ...none, errors: 5, resets: 0, mismatches: 5 }))).toMatch(/^0 messages echoed in 10\.00 s, 0 B read: nothing came back as sent, upper-cased \(5 mismatches below\)$/m);
    expect(formatReport(result({ ...none, ...clean }))).toMatch(/^0 messages echoed in 10\.00 s, 0 B read: nothing came back to check$/m);
  });

  it('shows connection set-up in rows of its own, above the echo latency, each with its count', () => {
    const lines = formatReport(result()).split('\n');
    const row = (label: string) => lines.findIndex((line) => line.startsWith(`│ ${label} `));
    expect(lines[row('Connect')]).toMatch(/^│ Connect +│ 0\.250 ms +│ 0\.500 ms +│ 0\.750 ms +│ 1001\.0 ms +│ 0\.300 ms +│ 0\.100 ms +│ 1003\.5 ms +│ 500 +│$/);
    expect(lines[row('First echo')]).toMatch(/^│ First echo +│ 2\.00 ms +│ 3\.00 ms +│ 1500\.0 ms +│ 3100\.0 ms +│ 40\.00 ms +│ 300\.0 ms +│ 3120\.0 ms +│ 499 +│$/);
    // One table: header, then the three rows in order.
    expect(lines[row('Stat')]).toMatch(/^│ Stat +│ 50% +│ 90% +│ 99% +│ 99\.9% +│ Avg +│ Stdev +│ Max +│ Count +│$/);
    expect([row('Stat') + 2, row('Stat') + 3, row('Stat') + 4]).toEqual([row('Connect'), row('First echo'), row('Echo latency')]);
    expect(lines.join('\n')).toContain("time unaccepted in the server's accept queue shows here");
  });

  it('lists failures that fit no kind of their own only when there are some', () => {
    const text = formatReport(result({ errors: 5 }));
    expect(text).toMatch(/^5 errors: 0 refused, 1 resets, 0 timeouts, 2 mismatches, 2 other$/m);
  });

  it('lists connections out of local ports only when there are some, with the first and the remedy', () => {
    const note = 'no free local port on the source address (EADDRINUSE), connection 28233';
    const text = formatReport(result({ errors: 7, portsExhausted: 4, failures: { portsExhausted: note } }));
    expect(text).toMatch(/^7 errors: 0 refused, 1 resets, 0 timeouts, 2 mismatches, 4 out of local ports$/m);
    const lines = text.split('\n');
    const first = lines.indexOf(`  first port exhaustion: ${note}`);
    expect(first).toBeGreaterThan(0);
    expect(lines[first + 1]).toBe('  remedy: each source address has its own ephemeral ports: connect from more (--source 127.0.0.2-127.0.0.9), or widen net.ipv4.ip_local_port_range');
    expect(formatReport(result())).not.toMatch(/local port|remedy/);
  });

  it('says when latency is corrected for coordinated omission, and when a run was interrupted', () => {
    const text = formatReport(result({ rate: 100, interrupted: true, errors: 0, resets: 0, mismatches: 0, failures: {} }));
    expect(text).toContain('100 msg/s per connection');
    expect(text).toContain('Latency from the intended send time (corrected for coordinated omission).');
    expect(text).toMatch(/^0 errors$/m);
    expect(text).toMatch(/^interrupted: the figures cover the 10\.00 s measured before the stop$/m);
  });

  it('names the address a host name resolved to', () => {
    const text = formatReport(result({ host: 'localhost', address: '::1' }));
    expect(text).toMatch(/^echo-load: 500 connections to localhost:8090 \(::1\) over 2 workers/m);
  });

  it('under TLS, shows the handshake row between Connect and First echo, and counts handshake failures', () => {
    const handshake = { average: 4, mean: 4, stddev: 1, min: 2, max: 9, p50: 3.5, p90: 5, p99: 8, p99_9: 9, totalCount: 498 };
    const text = formatReport(
      result({ tls: true, proxyProtocol: 'v2', handshake, errors: 5, handshakeFailures: 2, failures: { handshake: 'certificate error: certificate has expired (CERT_HAS_EXPIRED), connection 4' } }),
    );
    expect(text).toMatch(/^echo-load: 500 connections to 127\.0\.0\.1:8090 over 2 workers, 64 B messages, pipeline 1, TLS, PROXY v2 header$/m);
    const labels = text.split('\n').filter((line) => /^│ [A-Z]/.test(line)).map((line) => line.split('│')[1]!.trim());
    expect(labels.slice(0, 5)).toEqual(['Stat', 'Connect', 'TLS handshake', 'First echo', 'Echo latency']);
    expect(text).toMatch(/│ TLS handshake │ 3\.50 ms +│ 5\.00 ms +│ 8\.00 ms +│ 9\.00 ms +│ 4\.00 ms +│ 1\.00 ms +│ 9\.00 ms +│ 498 +│/);
    expect(text).toContain('TLS handshake: from then');
    expect(text).toMatch(/^5 errors: 0 refused, 2 handshake failures, 1 resets, 0 timeouts, 2 mismatches$/m);
    expect(text).toContain('  first handshake failure: certificate error: certificate has expired (CERT_HAS_EXPIRED), connection 4');
  });

  it('without TLS, has no handshake row and lists handshake failures only if there are some', () => {
    const text = formatReport(result());
    expect(text).not.toMatch(/handshake/i);
    expect(formatReport(result({ errors: 4, handshakeFailures: 1 }))).toMatch(/^4 errors: 0 refused, 1 handshake failures, 1 resets/m);
  });

  it('formats milliseconds with microsecond precision below 1 ms', () => {
    expect([formatMs(0.0456), formatMs(1.5), formatMs(123.45)]).toEqual(['0.046 ms', '1.50 ms', '123.5 ms']);
  });
});
