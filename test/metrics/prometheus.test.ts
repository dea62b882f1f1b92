import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startPrometheus } from './prometheus.js';
import { startServer } from '../support/server.js';

const teardown: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of teardown.splice(0).reverse()) await step();
});

/**
 * Ping-pong traffic from `clients` connections, 1 KiB at a time, until `stop()` or `limit`
 * round trips per client, whichever comes first. Checks every echoed byte.
 */
function load(port: number, clients: number, limit = 50_000) {
  let stopping = false;
  let mismatches = 0;
  const payload = Buffer.alloc(1024, 'abcdefgh');
  const expected = Buffer.alloc(1024, 'ABCDEFGH');
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      let trips = 0;
      let got: Buffer[] = [];
      let length = 0;
      const send = () => socket.write(payload);
      socket.on('error', reject);
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        got.push(chunk);
        length += chunk.length;
        if (length < payload.length) return;
        if (!Buffer.concat(got).equals(expected)) mismatches++;
        got = [];
        length = 0;
        if (++trips >= limit || stopping) socket.end();
        else setTimeout(send, 1); // paced: the machine is shared

      });
      socket.on('close', () => resolve(trips));
    });
  const done = Promise.all(Array.from({ length: clients }, one));
  return {
    mismatches: () => mismatches,
    stop: async () => {
      stopping = true;
      return (await done).reduce((a, b) => a + b, 0);
    },
  };
}

describe('Prometheus scraping a server under load', () => {
  it('sees the traffic through PromQL, exactly', async () => {
    const { server, metricsPort } = await startServer({ metrics: true });
    const prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`);
    teardown.push(() => prometheus.stop());

    await prometheus.waitFor('up{job="echo-server"}', (v) => v.length === 1 && v[0] === 1);
    const traffic = load(server.port, 8);
    teardown.push(() => traffic.stop());
    await prometheus.waitFor('sum(echo_connections_active)', (v) => v[0] === 8);
    const [rate] = await prometheus.waitFor('rate(echo_received_bytes_total[5s])', (v) => v.length === 1 && v[0]! > 0);
    expect(rate).toBeGreaterThan(0);
    await prometheus.waitFor('rate(echo_sent_bytes_total[5s])', (v) => v.length === 1 && v[0]! > 0);

    const trips = await traffic.stop();
    expect(traffic.mismatches()).toBe(0);
    expect(trips).toBeGreaterThan(0);
    // Once the clients are gone, Prometheus's latest samples equal the server's own counts.
    const bytes = trips * 1024;
    await prometheus.waitFor('sum(echo_connections_active)', (v) => v[0] === 0);
    await prometheus.waitFor('echo_received_bytes_total', (v) => v[0] === bytes);
    await prometheus.waitFor('echo_sent_bytes_total', (v) => v[0] === bytes);
    await prometheus.waitFor('sum(echo_connections_accepted_total)', (v) => v[0] === 8);
    await prometheus.waitFor('echo_connections_closed_total{reason="client"}', (v) => v[0] === 8);
    await prometheus.waitFor('echo_connection_duration_seconds_count', (v) => v[0] === 8);
    expect(server.stats.bytesReceived).toBe(bytes);
    const build = await prometheus.query('echo_build_info');
    expect(build.map((r) => [r.metric.version, r.metric.node_version, r.value])).toEqual([['test', process.version, 1]]);
  }, 180_000); // a real Prometheus starts, scrapes every second and answers each wait: slow on a loaded machine, never wrong
});
