import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running HAProxy (Debian's `haproxy`), started by `startHaproxy`. */
export interface Haproxy {
  child: ChildProcess;
  /** What HAProxy wrote on stderr so far (its warnings, and alerts if it failed). */
  readonly stderr: string;
  /** Stops it (SIGTERM, then SIGKILL after a second) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * A TCP port on `host` that nothing listens on right now (the kernel's pick for port 0),
 * for programs such as HAProxy that cannot be told to pick one and say which.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts HAProxy in the foreground with `config` (its `global` and `defaults` sections are
 * added before it: TCP mode, short timeouts) and waits until every address in `listening`
 * accepts connections (bounded: it throws with HAProxy's stderr after 10 s). `files` are
 * written beside the config first (certificates, say), and `{dir}` in the config is their
 * directory.
 *
 * @example
 *   const port = await freePort();
 *   const haproxy = await startHaproxy(`listen l\n  bind 127.0.0.1:${port}\n  server s 127.0.0.1:${echoPort} send-proxy-v2\n`, [{ host: '127.0.0.1', port }]);
 *   afterEach(() => haproxy.stop());
 */
export async function startHaproxy(config: string, listening: ReadonlyArray<{ host: string; port: number }>, files: Record<string, string> = {}): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'echo-haproxy-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, `global\n  maxconn 4096\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\n${config.replaceAll('{dir}', dir)}`);
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const haproxy: Haproxy = {
    child,
    get stderr() {
      return stderr;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 10_000;
  for (const address of listening) {
    while (!(await accepts(address.host, address.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await haproxy.stop();
        throw new Error(`haproxy did not start listening on ${address.host}:${address.port}:\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return haproxy;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
