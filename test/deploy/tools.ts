import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, for paths to the files under test. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where each external tool comes from; .ci/run installs them. */
const INSTALL_HINTS: Record<string, string> = {
  'docker-compose': 'apt-get install docker-compose (Debian)',
  promtool: 'apt-get install prometheus (Debian)',
  prometheus: 'apt-get install prometheus (Debian)',
  python3: 'apt-get install python3-yaml (a docker-compose dependency)',
};

/**
 * Throws a clear error when `name` is not on PATH. These checks must fail, never skip, when
 * a tool is missing: .ci/run installs every tool they use.
 *
 * @example
 *   requireTool('promtool');
 */
export function requireTool(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(`${name} is not installed; it is needed for this check (${INSTALL_HINTS[name] ?? 'install it'})`);
  }
}

/** What a finished command left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion (bounded by `timeoutMs`) and resolves with its exit code and
 * output, whatever the code; a command that cannot start or times out rejects.
 */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 20_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}
