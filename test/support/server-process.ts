import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { eventually } from './eventually.js';
import { listeningPorts } from './sockets.js';

/** How long a server may take to say it listens. */
const START_TIMEOUT_MS = 25_000;

export const SERVER_CLI = fileURLToPath(new URL('../../dist/src/cli/echo-server.js', import.meta.url));

/** A server CLI running as a child process, with its log lines parsed. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  /**
   * Resolves with the exit code (or 128 + signal number) once the process has exited and
   * every line it wrote has been read: `logs` is then complete.
   */
  exited: Promise<number>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * Starts `echo-server --port 0 ...args` (via `shellPrefix` when given, e.g. to lower
 * `ulimit -n`), on `node` if given (another Node.js binary), and resolves once it logs `listening`. With `quiet`, for a `--log-level` above
 * info, there is no such line: it resolves once the process listens, as `ss` shows.
 */
export function startServerProcess(
  args: string[] = [],
  options: { shellPrefix?: string; env?: NodeJS.ProcessEnv; quiet?: boolean; node?: string } = {},
): Promise<ServerProcess> {
  const node = options.node ?? process.execPath;
  // Metrics on a free port too: the default (9464) would collide between test files.
  const argv = [SERVER_CLI, '--port', '0', '--metrics-port', '0', ...args];
  const child = options.shellPrefix
    ? spawn('bash', ['-c', `${options.shellPrefix}; exec "${node}" ${argv.map((a) => `'${a}'`).join(' ')}`], {
        env: { ...process.env, ...options.env },
      })
    : spawn(node, argv, { env: { ...process.env, ...options.env } });
  children.push(child);
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': it comes after the child's stdout has ended, so no line is still in flight.
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? 128 + constants.signals[signal!]));
  });
  const started = (port: number): ServerProcess => ({ child, port, logs, stderr: () => stderr, exited });
  return new Promise((resolve, reject) => {
    // A bound for a server that hangs, under the test's own timeout: on a loaded machine (the
    // suite's two forks, an npm install and CPU burners at once) a start can take seconds.
    const startedAt = performance.now();
    const timer = setTimeout(() => {
      const seen = logs.map((line) => line.msg).join(', ') || 'none';
      reject(new Error(`server did not start within ${Math.round(performance.now() - startedAt)} ms (log lines: ${seen}; stderr: ${stderr})`));
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'listening' && !options.quiet) {
        clearTimeout(timer);
        resolve(started(entry.port as number));
      }
    });
    if (options.quiet) {
      let port: number | undefined;
      eventually(async () => (port = (await listeningPorts(child.pid!))[0]) !== undefined, 'the server to listen', START_TIMEOUT_MS, 20).then(
        () => {
          clearTimeout(timer);
          resolve(started(port!));
        },
        () => {},
      );
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${stderr}`));
    });
  });
}
