import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { eventually } from './eventually.js';

/** A real HAProxy (Debian's package) running a TCP frontend, stopped after the test. */
export interface HAProxy {
  /** Where clients connect. */
  port: number;
  /** What HAProxy printed, for failure messages. */
  output: () => string;
}

const running: Array<{ child: ChildProcess; dir: string }> = [];
afterEach(async () => {
  for (const { child, dir } of running.splice(0)) {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A port that was free a moment ago (HAProxy cannot bind port 0 and say which it got). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts HAProxy in TCP mode on a free loopback port, in front of `backends` (`host:port`),
 * each line ending with `serverOptions` (e.g. `send-proxy-v2`), and resolves once it accepts
 * connections. Connections are spread round-robin.
 *
 * @example
 *   const proxy = await startHAProxy([`127.0.0.1:${server.port}`], 'send-proxy-v2');
 */
export async function startHAProxy(backends: readonly string[], serverOptions = ''): Promise<HAProxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'echo-haproxy-'));
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 20000',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      'frontend echo',
      `  bind 127.0.0.1:${port}`,
      '  default_backend echo_servers',
      'backend echo_servers',
      '  balance roundrobin',
      ...backends.map((backend, i) => `  server echo${i + 1} ${backend} ${serverOptions}`),
      '',
    ].join('\n'),
  );
  // -db: stay in the foreground, so the child is HAProxy itself and SIGTERM stops it.
  const child = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push({ child, dir });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${output}`);
      return accepts(port);
    },
    'HAProxy to accept connections',
  );
  return { port, output: () => output };
}

/** Whether something listens on the port, asked of the kernel (`ss`): a probe connection would reach the backends. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('ss', ['-Hltn', `sport = :${port}`], (error, stdout) => resolve(!error && stdout.includes('LISTEN')));
  });
}
