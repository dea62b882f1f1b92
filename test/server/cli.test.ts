import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { closed, connect, echoOnce, readBytes } from '../support/clients.js';
import { listenBacklog } from '../support/sockets.js';
import { SERVER_CLI, startServerProcess, type ServerProcess } from '../support/server-process.js';

const LIMIT_WARNING = 'connection limit reached: closing new connections';

/** Sends `text` on `socket` and waits for its echo. */
async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  const reply = readBytes(socket, text.length);
  socket.write(text);
  return (await reply).toString();
}

/** Under `--max-connections 1`: one client held, then one more, which the server closes at once. */
async function hitTheLimit(server: ServerProcess): Promise<net.Socket> {
  const kept = await connect(server.port);
  expect(await roundTrip(kept, 'kept')).toBe('KEPT');
  const extra = await connect(server.port);
  extra.on('error', () => {});
  expect(await closed(extra)).toBe(true);
  return kept;
}

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

  it.each([
    { how: '--backlog 123', args: ['--backlog', '123'], env: {}, backlog: 123 },
    { how: 'ECHO_BACKLOG=77', args: [], env: { ECHO_BACKLOG: '77' }, backlog: 77 },
    // The default, 4096, as far as the kernel allows (net.core.somaxconn caps every backlog).
    { how: 'default', args: [], env: {}, backlog: Math.min(4096, Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))) },
  ])('listens with the backlog it is given ($how), as the kernel shows it', async ({ args, env, backlog }) => {
    const server = await startServerProcess(args, { env });
    expect(await listenBacklog(server.port)).toBe(backlog);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it.each([
    { how: '--log-level warn', args: ['--log-level', 'warn'], env: {}, lines: [[40, LIMIT_WARNING]] },
    { how: 'ECHO_LOG_LEVEL=error', args: [], env: { ECHO_LOG_LEVEL: 'error' }, lines: [] },
    { how: '--log-level silent', args: ['--log-level', 'silent'], env: {}, lines: [] },
  ])('logs only at its level and above ($how)', async ({ args, env, lines }) => {
    // Nothing at info: no listening line to learn the port from (ss tells it instead).
    const server = await startServerProcess(['--max-connections', '1', '--no-metrics', ...args], { env, quiet: true });
    (await hitTheLimit(server)).destroy();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.logs.map((line) => [line.level, line.msg])).toEqual(lines);
  });

  it('logs lifecycle events at info, never a line per message or per connection', async () => {
    const server = await startServerProcess();
    const messages = Array.from({ length: 50 }, (_, i) => `message ${i}`);
    const clients = await Promise.all(Array.from({ length: 10 }, () => connect(server.port)));
    await Promise.all(
      clients.map(async (socket) => {
        for (const message of messages) expect(await roundTrip(socket, message)).toBe(message.toUpperCase());
        socket.end();
        await closed(socket);
      }),
    );
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // 500 messages on 10 connections, and exactly the lines a server that served none writes.
    expect(server.logs.map((line) => line.msg)).toEqual(['metrics listening', 'listening', 'signal received', 'shutdown begun', 'shutdown done']);
    const bytes = 10 * messages.join('').length;
    expect(server.logs.at(-1)).toMatchObject({ accepted: 10, bytesReceived: bytes, bytesSent: bytes });
  });
});
