import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';

/** An `echo-server` command running as a child process, once it has said it listens. */
export interface RunningServer {
  child: ChildProcess;
  /** The `listening` line (the primary's, under `--workers`): `port`, `tlsPort`, `metricsPort`. */
  listening: Record<string, unknown>;
  stderr: () => string;
  /** The exit code (or 128 + the signal's number), once the process has exited and closed its output. */
  exited: Promise<number>;
  /** SIGTERM (a graceful shutdown), then the exit code. */
  stop: () => Promise<number>;
}

/**
 * Runs `command ...args` in `cwd` (found on `env.PATH`, as a shell would) and resolves at its
 * `listening` log line; a process that exits first, or says nothing within `timeoutMs`,
 * rejects with its stderr. Under `--workers` each worker logs `listening` too (with its
 * `worker` number): the primary's line, the last, is the one waited for.
 *
 * @example
 *   const server = await startServerCommand('echo-server', ['--port', '0'], { env: { ...process.env, PATH: bin }, cwd: dir });
 *   expect(await server.stop()).toBe(0);
 */
export function startServerCommand(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): Promise<RunningServer> {
  const { env, cwd, timeoutMs = 30_000 } = options;
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': it comes after the child's output has ended.
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? 128 + constants.signals[signal!])));
  const stop = () => {
    child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not log listening within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.msg !== 'listening' || entry.worker !== undefined) return;
      clearTimeout(timer);
      resolve({ child, listening: entry, stderr: () => stderr, exited, stop });
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited with ${code} before listening: ${stderr}`));
    });
  });
}
