import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { echoOnce } from '../support/clients.js';
import { SERVER_CLI, startServerProcess } from '../support/server-process.js';

/** Runs echo-server to completion (for start-up errors) and returns its code and output. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [SERVER_CLI, '--metrics-port', '0', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** One line, naming the program, and no stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^echo-server: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('echo-server command line', () => {
  it('reports a port in use in one line and exits 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, stderr } = runCli(['--port', String(port)]);
      expect(code).toBe(1);
      expectOneLineError(stderr, new RegExp(`127\\.0\\.0\\.1:${port}: address already in use`));
    } finally {
      blocker.close();
    }
  });

  it.each([
    [['--port', '70000'], /port must be a whole number from 0 to 65535/],
    [['--port', 'http'], /port must be a whole number/],
    [['--idle-timeout', '5 parsecs'], /idle-timeout must be a duration/],
    [['--max-connections', '-1'], /max-connections/],
    [['--log-level', 'loud'], /log-level/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
  ])('rejects bad options %j with exit 2', (args, pattern) => {
    const { code, stderr } = runCli(args);
    expect(code).toBe(2);
    expectOneLineError(stderr, pattern);
  });

  it('reports an address it cannot listen on in one line and exits 1', () => {
    const { code, stderr } = runCli(['--host', '192.0.2.1', '--port', '0']);
    expect(code).toBe(1);
    expectOneLineError(stderr, /cannot listen on 192\.0\.2\.1:0: address not available/);
  });

  it('reads its options from environment variables', async () => {
    const server = await startServerProcess([], { env: { ECHO_IDLE_TIMEOUT: '250ms', ECHO_MAX_CONNECTIONS: '7' } });
    const listening = server.logs.find((l) => l.msg === 'listening')!;
    expect(listening.idleTimeoutMs).toBe(250);
    expect(listening.maxConnections).toBe(7);
    expect((await echoOnce(server.port, Buffer.from('env'))).toString()).toBe('ENV');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('rejects a bad value from the environment like a bad flag', () => {
    const { code, stderr } = runCli([], { ECHO_PORT: 'eighty' });
    expect(code).toBe(2);
    expectOneLineError(stderr, /port must be a whole number/);
  });

  it('prints help and exits 0', () => {
    const { code, stdout } = runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--max-connections <n>/);
    expect(stdout).toMatch(/--shutdown-timeout <duration>/);
  });
});
