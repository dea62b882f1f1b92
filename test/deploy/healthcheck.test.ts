import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServerProcess } from '../support/server-process.js';
import { metricsPort } from './metrics-port.js';
import { ROOT, run } from './tools.js';

const PROBE = join(ROOT, 'deploy', 'healthcheck.js');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


function probe(port: number) {
  return run(process.execPath, [PROBE], { env: { ...process.env, ECHO_METRICS_PORT: String(port) } });
}


async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the container health probe (deploy/healthcheck.js)', () => {
  it('passes against a serving echo-server and fails once its graceful shutdown begins', async () => {
    const server = await startServerProcess(['--metrics-host', '127.0.0.1', '--metrics-port', '0', '--shutdown-timeout', '20s']);
    const port = metricsPort(server);
    expect(await probe(port)).toMatchObject({ code: 0, stderr: '' });

    // An open connection keeps the shutdown (and so the 503) going while the probe runs.
    const client = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => client.once('connect', resolve));
    server.child.kill('SIGTERM');
    let result = await probe(port);
    for (let tries = 0; result.code === 0 && tries < 50; tries++) {
      await pause(100);
      result = await probe(port);
    }
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('healthcheck: /healthz answered 503\n');

    client.end();
    expect(await server.exited).toBe(0);
  });

  it('fails when nothing listens on the metrics port', async () => {
    const result = await probe(await closedPort());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ECONNREFUSED');
  });
});
