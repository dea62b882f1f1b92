import { describe, expect, it } from 'vitest';
import { runLoadJson } from './support/cli.js';
import { slowStartEcho, startFakeServer } from './support/servers.js';

describe('echo-load --warmup', () => {
  it('leaves the warm-up out of the counts and the echo latency', async () => {
    // Each connection's first two echoes take 600 ms; under --rate the messages due meanwhile
    // are late too, up to 1.15 s (counted from their intended send times), until the
    // connection has caught up, about 1.3 s after it connected. All of that lies in the 3 s
    // warm-up; the 2 s measured after it see prompt echoes only.
    const { port } = await startFakeServer(slowStartEcho(2, 600));
    const [clients, rate, measuredS] = [5, 20, 2];
    const { code, result } = await runLoadJson(['--port', String(port), '--clients', String(clients), '--rate', String(rate), '--warmup', '3s', '--duration', `${measuredS}s`]);
    expect(code).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.duration).toBeGreaterThanOrEqual(measuredS);
    // About 200 messages in the 2 s measured, not the 500 of the whole run (generous bounds:
    // the window's ends reach the workers a little late).
    expect(result.requests.total).toBeGreaterThanOrEqual((clients * rate * measuredS) / 2);
    expect(result.requests.total).toBeLessThanOrEqual(clients * rate * (measuredS + 1));
    expect(result.requests.sent! - result.requests.total!).toBeLessThanOrEqual(clients);
    expect(result.throughput.total).toBe(result.requests.total! * 64);
    // None of the slow echoes: not the 600 ms ones, not the late ones after them.
    expect(result.latency.totalCount).toBeGreaterThan(0);
    expect(result.latency.totalCount).toBeLessThanOrEqual(result.requests.total!);
    expect(result.latency.max).toBeLessThan(600);
    // Connection set-up counts whatever the phase: each first echo took the server's 600 ms.
    expect(result.firstEcho.totalCount).toBe(clients);
    expect(result.firstEcho.min).toBeGreaterThanOrEqual(590);
  });
});
