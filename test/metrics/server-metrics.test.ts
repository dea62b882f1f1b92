import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { closed, connect, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';
import { get, scrape } from './scrape.js';

// The real server, real clients, the real endpoint: every echo_* number Prometheus would read.

/** Sends `text`, waits for its echo: one chunk each way on loopback. */
async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  const reply = readBytes(socket, text.length);
  socket.write(text);
  return (await reply).toString();
}

const delta = (after: Map<string, number>, before: Map<string, number>, name: string) =>
  after.get(name)! - before.get(name)!;

describe('metrics of a real server', () => {
  it('count connections, bytes, reads and tasks exactly', async () => {
    const { server, base } = await startServer({ metrics: true, maxConnections: 2 });
    const before = await scrape(base);
    const [a, b] = [await connect(server.port), await connect(server.port)];
    b.on('error', () => {});
    for (let i = 0; i < 10; i++) {
      expect(await roundTrip(a, 'hello')).toBe('HELLO');
      expect(await roundTrip(b, 'world')).toBe('WORLD');
    }
    const during = await scrape(base);
    expect(during.get('echo_connections_active{listener="plain"}')).toBe(2);
    expect(during.get('echo_tasks_active')! - before.get('echo_tasks_active')!).toBe(2);

    const third = await connect(server.port); // past --max-connections
    third.on('error', () => {});
    expect(await closed(third)).toBe(true);
    b.resetAndDestroy(); // the server's read fails: ECONNRESET
    await eventually(() => server.stats.connectionsActive === 1, 'the reset connection to close');
    a.end();
    expect(await closed(a)).toBe(true);
    await eventually(() => server.stats.connectionsActive === 0, 'every connection to close');

    const after = await scrape(base);
    expect(after.get('echo_connections_active{listener="plain"}')).toBe(0);
    expect(after.get('echo_connections_accepted_total{listener="plain"}')).toBe(2);
    expect(after.get('echo_connections_rejected_total')).toBe(1);
    expect(after.get('echo_connections_closed_total{reason="client"}')).toBe(1);
    expect(after.get('echo_connections_closed_total{reason="error"}')).toBe(1);
    expect(after.get('echo_connections_closed_total{reason="idle"}')).toBe(0);
    expect(after.get('echo_connections_closed_total{reason="shutdown"}')).toBe(0);
    expect(after.get('echo_received_bytes_total')).toBe(100);
    expect(after.get('echo_sent_bytes_total')).toBe(100);
    expect(after.get('echo_reads_total')).toBe(20);
    expect(after.get('echo_backpressure_pauses_total')).toBe(0);
    expect(after.get('echo_connection_duration_seconds_count')).toBe(2);
    expect(delta(after, before, 'echo_tasks_spawned_total')).toBe(2); // one per accepted client
    expect(delta(after, before, 'echo_tasks_active')).toBe(0);
    expect(delta(after, before, 'echo_tasks_failed_total')).toBe(0);
  });

  it('count backpressure pauses as the server counts them', async () => {
    const { server, base } = await startServer({ metrics: true });
    const flood = await connect(server.port);
    flood.on('error', () => {});
    flood.pause(); // never reads: the server's writes back up
    const chunk = Buffer.alloc(64 * 1024, 'flood ');
    for (let i = 0; i < 256 && server.stats.backpressurePauses === 0; i++) {
      flood.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(() => server.stats.backpressurePauses > 0, 'a backpressure pause');
    flood.destroy();
    await eventually(() => server.stats.connectionsActive === 0, 'every connection to close');
    const samples = await scrape(base);
    expect(samples.get('echo_backpressure_pauses_total')).toBe(server.stats.backpressurePauses);
    expect(samples.get('echo_received_bytes_total')).toBe(server.stats.bytesReceived);
    expect(samples.get('echo_sent_bytes_total')).toBe(server.stats.bytesSent);
    expect(samples.get('echo_reads_total')).toBe(server.stats.reads);
    expect(server.stats.bytesReceived).toBeGreaterThan(0);
  });

  it('count idle and shutdown closes, and report unhealthy once shutdown began', async () => {
    const { server, base } = await startServer({ metrics: true, idleTimeoutMs: 1000 });
    const idle = await connect(server.port);
    idle.on('error', () => {});
    // The stayer talks every 20 ms, fifty times more often than the timeout asks, until the
    // shutdown ends it: it is never idle, however long the rest takes.
    const stayer = await connect(server.port);
    stayer.on('error', () => {});
    const talking = (async () => {
      for (let trips = 0; ; trips++) {
        const reply = await roundTrip(stayer, 'hi');
        if (reply !== 'HI') return { trips, reply };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    expect(await closed(idle)).toBe(true);
    await eventually(() => server.stats.connectionsClosed.idle === 1, 'the idle close to be counted');
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });

    await server.shutdown();
    expect(await closed(stayer)).toBe(true);
    const { trips, reply } = await talking;
    expect(reply).toBe(''); // the server ended it between two round trips, or during one
    expect(trips).toBeGreaterThan(0);
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 503, body: 'shutting down\n' });
    const samples = await scrape(base);
    expect(samples.get('echo_connections_closed_total{reason="idle"}')).toBe(1);
    expect(samples.get('echo_connections_closed_total{reason="shutdown"}')).toBe(1);
    expect(samples.get('echo_connections_closed_total{reason="client"}')).toBe(0);
    expect(samples.get('echo_connections_active{listener="plain"}')).toBe(0);
    expect(samples.get('echo_connection_duration_seconds_count')).toBe(2);
  });
});
