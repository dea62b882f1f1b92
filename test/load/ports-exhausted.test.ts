import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadResult } from '../../load/result/result.js';
import { SERVER_CLI } from '../support/server-process.js';
import { LOAD_CLI, type Finished } from './support/cli.js';

const FIXTURE = fileURLToPath(new URL('fixtures/narrow-ports.sh', import.meta.url));
/** 50 ephemeral ports, in a network namespace of the test's own: the machine's range is not touched. */
const LOW = 40_000;
const HIGH = 40_049;
const PORTS = HIGH - LOW + 1;

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs echo-load (against echo-servers on ports 8090 and 8091) in a fresh network namespace with 50 ephemeral ports; its report, and its JSON from --json-file. */
function runNarrow(args: readonly string[]): Promise<Finished & { result: LoadResult }> {
  dir ??= mkdtempSync(join(tmpdir(), 'echo-load-ports-'));
  const file = join(dir, `result-${Math.random().toString(36).slice(2)}.json`);
  const child = spawn('unshare', ['-rn', 'bash', FIXTURE, String(LOW), String(HIGH), process.execPath, SERVER_CLI, LOAD_CLI, '--json-file', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const guard = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      try {
        resolve({ code, signal, stdout, stderr, result: JSON.parse(readFileSync(file, 'utf8')) as LoadResult });
      } catch {
        reject(new Error(`no result (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('echo-load when the local ports run out', () => {
  it('counts connections without a local port (EADDRNOTAVAIL) as out of local ports, names the remedy, exits 1', async () => {
    const { code, stdout, stderr, result } = await runNarrow(['--clients', '60', '--messages', '60']);
    expect([code, stderr]).toEqual([1, '']);
    // connect() finds no port for 127.0.0.1 to 127.0.0.1:8090 past the 50.
    expect([result.held, result.errors, result.portsExhausted, result.requests.total]).toEqual([PORTS, 10, 10, PORTS]);
    expect(result.failures.portsExhausted).toMatch(/^no free local port, or the source address is not local \(EADDRNOTAVAIL\), connection \d+$/);
    // The intervals count them by kind too, in the interval each happened in.
    expect(result.intervals!.reduce((total, interval) => total + interval.failures.portsExhausted, 0)).toBe(10);
    expect(stdout).toMatch(/^10 errors: 0 refused, 0 resets, 0 timeouts, 0 mismatches, 10 out of local ports$/m);
    expect(stdout).toMatch(/^ {2}remedy: each source address has its own ephemeral ports: connect from more \(--source .*\), or widen net\.ipv4\.ip_local_port_range$/m);
  });

  it('with one --source, runs out on that address (EADDRINUSE at bind), whatever the targets: Node binds before connecting', async () => {
    const { code, result } = await runNarrow(['--source', '127.0.0.2', '--target', ':8090', '--target', ':8091', '--clients', '60', '--messages', '60']);
    expect(code).toBe(1);
    expect([result.held, result.portsExhausted]).toEqual([PORTS, 10]);
    expect(result.failures.portsExhausted).toMatch(/^no free local port on the source address \(EADDRINUSE\), connection \d+$/);
  });

  it('without --source, each target has the ports of its own: the kernel picks a port per destination', async () => {
    const { code, result } = await runNarrow(['--target', ':8090', '--target', ':8091', '--clients', '100', '--messages', '100']);
    expect([code, result.held, result.errors]).toEqual([0, 2 * PORTS, 0]);
  });

  it('with two sources, takes twice the ports: every connection held, every echo checked', async () => {
    const { code, result } = await runNarrow(['--source', '127.0.0.2-127.0.0.3', '--clients', '100', '--messages', '100']);
    expect([code, result.held, result.errors, result.requests.total]).toEqual([0, 2 * PORTS, 0, 2 * PORTS]);
  });
});
