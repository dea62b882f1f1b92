import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_TOOLS } from '../../scripts/test-tools.js';

/** The repository root, for paths to the files under test. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));


/**
 * Throws a clear error when `name` is not on PATH. These checks must fail, never skip, when
 * a tool is missing: `npm test` installs every tool they use (scripts/test-tools.ts).
 *
 * @example
 *   requireTool('promtool');
 */
export function requireTool(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' });
  if (found.status !== 0) {
    const from = TEST_TOOLS[name] === undefined ? 'install it' : `Debian package ${TEST_TOOLS[name]}`;
    throw new Error(`${name} is not installed; it is needed for this check (${from})`);
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
