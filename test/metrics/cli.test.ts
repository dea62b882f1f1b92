import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { SERVER_CLI, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { get, scrape } from './scrape.js';

// echo-server as users run it (dist/, a child process): the metrics options and their wiring.

function listening(server: ServerProcess): Record<string, unknown> {
  return server.logs.find((line) => line.msg === 'listening')!;
}

function metricsBase(server: ServerProcess): string {
  return `http://127.0.0.1:${listening(server).metricsPort as number}`;
}

/** The nice value of each of a process's threads (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNiceness(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    // The fields after the command name, which is in parentheses and may hold spaces.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('echo-server metrics options', () => {
  it('serves scrapes from one thread at the lowest priority, the rest of the process at its own', async () => {
    const server = await startServerProcess(['--metrics-port', '0']);
    const pid = server.child.pid!;
    // Lowered once that thread listens (start-up runs at the process's priority).
    await eventually(() => threadNiceness(pid).filter((nice) => nice === 19).length === 1, 'one thread at nice 19');
    expect(threadNiceness(pid).filter((nice) => nice !== 19 && nice !== 0)).toEqual([]);
    expect((await get(`${metricsBase(server)}/healthz`)).status).toBe(200);
  });

  it('serves /metrics and /healthz, and answers 503 while it drains', async () => {
    const server = await startServerProcess(['--metrics-port', '0', '--shutdown-timeout', '20s']);
    const base = metricsBase(server);
    expect(server.logs.find((l) => l.msg === 'metrics listening')).toMatchObject({ host: '127.0.0.1' });
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(`${base}/nope`)).status).toBe(404);

    const client = await connect(server.port);
    client.on('error', () => {});
    const reply = readBytes(client, 5);
    client.write('still');
    expect((await reply).toString()).toBe('STILL');

    server.child.kill('SIGTERM');
    await eventually(() => server.logs.some((l) => l.msg === 'shutdown begun'), 'shutdown to begin');
    // Draining: unhealthy, yet metrics still answer and show the client still connected.
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 503, body: 'shutting down\n' });
    const samples = await scrape(base);
    expect(samples.get('echo_connections_active{listener="plain"}')).toBe(1);
    expect(samples.get('echo_received_bytes_total')).toBe(5);

    client.end();
    expect(await server.exited).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow(); // closed with the server
  });

  it('reads the metrics options from the environment', async () => {
    const server = await startServerProcess([], {
      env: { ECHO_METRICS_PORT: '0', ECHO_METRICS_HOST: '127.0.0.1', ECHO_MAX_BLOCKING: '250ms' },
    });
    expect(listening(server)).toMatchObject({ maxBlockingMs: 250 });
    expect((await get(`${metricsBase(server)}/healthz`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('serves metrics on --host unless --metrics-host says otherwise', async () => {
    const server = await startServerProcess(['--host', '127.0.0.2', '--metrics-port', '0']);
    expect(server.logs.find((l) => l.msg === 'metrics listening')).toMatchObject({ host: '127.0.0.2' });
    const port = listening(server).metricsPort as number;
    expect(await get(`http://127.0.0.2:${port}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it.each([
    [['--no-metrics'], {}],
    [['--metrics', 'off'], {}],
    [[], { ECHO_METRICS: '0' }],
    [[], { ECHO_METRICS: 'false' }],
  ])('serves no metrics with %j %j', async (args, env) => {
    const server = await startServerProcess(['--metrics-port', '0', ...args], { env });
    expect(listening(server).metricsPort).toBeNull();
    expect(server.logs.some((l) => l.msg === 'metrics listening')).toBe(false);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('lets --no-metrics win over ECHO_METRICS=1', async () => {
    const server = await startServerProcess(['--no-metrics'], { env: { ECHO_METRICS: '1' } });
    expect(listening(server).metricsPort).toBeNull();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('reports a metrics port in use in one line and exits 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = spawnSync(process.execPath, [SERVER_CLI, '--port', '0', '--metrics-port', String(port)], {
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        `echo-server: cannot serve metrics on 127.0.0.1:${port}: address already in use (choose another --metrics-port, or --no-metrics)\n`,
      );
    } finally {
      blocker.close();
    }
  });

  it.each([
    [['--max-blocking', 'soon'], /max-blocking/],
    [['--metrics-port', '65536'], /metrics-port/],
    [['--metrics', 'maybe'], /metrics switch 'maybe'/],
  ])('rejects %j with exit 2 in one line', (args, pattern) => {
    const result = spawnSync(process.execPath, [SERVER_CLI, '--port', '0', ...args], { encoding: 'utf8', timeout: 15_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
  });
});
