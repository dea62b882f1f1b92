import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from '../../../load/result/result.js';
import { eventually } from '../../support/eventually.js';

/** The built entry point: the tests run echo-load exactly as users do (`npm run build` first). */
export const LOAD_CLI = fileURLToPath(new URL('../../../dist/load/cli.js', import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running echo-load child process whose output is collected as it comes. */
export class LoadProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly finished: Promise<Finished>;

  /** `env`: variables added to this process's environment for the child (`ECHO_LOAD_*`). */
  constructor(args: readonly string[], limitMs = 60_000, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [LOAD_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => (this.stdout += text));
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    // Every run is bounded: a hung child is killed and the test then fails on its exit code.
    const guard = setTimeout(() => this.child.kill('SIGKILL'), limitMs);
    this.finished = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        clearTimeout(guard);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /**
   * Waits (bounded) until `condition` holds for the output so far; fails at once if echo-load
   * exits first.
   */
  async waitFor(condition: (self: LoadProcess) => boolean, limitMs = 30_000): Promise<void> {
    const met = () => {
      if (condition(this)) return true;
      if (this.child.exitCode !== null) throw new Error(`echo-load exited early (${this.child.exitCode}):\n${this.stderr}`);
      return false;
    };
    await eventually(met, 'the output awaited from echo-load', limitMs, 25).catch((error: Error) => {
      throw this.child.exitCode === null ? new Error(`${error.message}; stderr so far:\n${this.stderr}`) : error;
    });
  }
}

/** Runs echo-load to the end. */
export function runLoad(args: readonly string[], limitMs?: number, env?: NodeJS.ProcessEnv): Promise<Finished> {
  return new LoadProcess(args, limitMs, env).finished;
}

/** Runs echo-load with `--json` and parses its one line of output. */
export async function runLoadJson(args: readonly string[], limitMs?: number, env?: NodeJS.ProcessEnv): Promise<Finished & { result: LoadResult }> {
  const finished = await runLoad(['--json', ...args], limitMs, env);
  const lines = finished.stdout.trimEnd().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON, got:\n${finished.stdout}\nstderr:\n${finished.stderr}`);
  return { ...finished, result: JSON.parse(lines[0]!) as LoadResult };
}

/**
 * Runs echo-load once with `--json-file`: its stdout (the human report, unless `args` say
 * `--json`) and the JSON result of the same run.
 */
export async function runLoadWithJsonFile(args: readonly string[], limitMs?: number): Promise<Finished & { result: LoadResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'echo-load-'));
  try {
    const file = join(dir, 'result.json');
    const finished = await runLoad(['--json-file', file, ...args], limitMs);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new Error(`no --json-file written (exit ${finished.code}):\n${finished.stderr}`);
    }
    return { ...finished, result: JSON.parse(text) as LoadResult };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
