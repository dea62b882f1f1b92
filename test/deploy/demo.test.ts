import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, run } from './tools.js';

const DEMO = join(ROOT, 'dist', 'scripts', 'demo.js');

const running: ChildProcess[] = [];
afterEach(() => {
  // A failed assertion must not leave a demo (and its children) running.
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGINT');
});

function demo(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [DEMO, ...args], { env: { ...process.env, ...env }, timeoutMs: 90_000 });
}

describe('npm run demo (dist/scripts/demo.js)', () => {
  it('runs echo-load with 500 clients against a fresh echo-server, prints the report and shuts down cleanly', async () => {
    const result = await demo(['--duration', '1s']);
    expect(result.stderr).toMatch(/^demo: echo-server listening on 127\.0\.0\.1:\d+ \(pid \d+\)$/m);
    expect(result.stderr).toMatch(/^demo: its metrics, while it runs: http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    // A warm-up first, so that the echo latency shown is the steady state.
    expect(result.stderr).toContain('demo: echo-load --clients 500 --warmup 2s --duration 1s\n');
    expect(result.stderr).toContain('demo: echo-server shut down cleanly (exit 0)\n');
    // echo-load's report: connection set-up in rows of its own, each over all 500 connections,
    // beside the echo latency; every connection held, every byte checked, nothing wrong.
    expect(result.stdout).toMatch(/^│ Connect +│( [\d.]+ ms +│){7} 500 +│$/m);
    expect(result.stdout).toMatch(/^│ First echo +│( [\d.]+ ms +│){7} 500 +│$/m);
    expect(result.stdout).toMatch(/^│ Echo latency +│( [\d.]+ ms +│){7} [\d,]+ +│$/m);
    expect(result.stdout).toMatch(/ read: every byte as sent, upper-cased$/m);
    expect(result.stdout).toContain('500 of 500 connections held');
    expect(result.stdout).toMatch(/^0 errors$/m);
    expect(result.code, result.stderr).toBe(0);
  }, 90_000);

  it('passes its own --warmup on to echo-load', async () => {
    const result = await demo(['--clients', '5', '--warmup', '0s', '--duration', '500ms']);
    expect(result.stderr).toContain('demo: echo-load --clients 5 --warmup 0s --duration 500ms\n');
    expect(result.stdout).toContain('5 of 5 connections held');
    expect(result.code, result.stderr).toBe(0);
  }, 90_000);

  it('exits non-zero when the load run reports errors, and still shuts the server down', async () => {
    // The server inherits the environment: past 10 connections it closes the rest at once.
    const result = await demo(['--duration', '1s', '--clients', '50'], { ECHO_MAX_CONNECTIONS: '10' });
    expect(result.stderr).toMatch(/^demo: echo-load failed: exit [1-9]\d*$/m);
    expect(result.stderr).toContain('demo: echo-server shut down cleanly (exit 0)\n');
    expect(result.code).toBe(1);
  }, 90_000);

  it('stops echo-load on Ctrl-C (its partial report still printed), then the server, and exits 130', async () => {
    const child = spawn(process.execPath, [DEMO, '--duration', '60s', '--clients', '50']);
    running.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const metrics = await new Promise<string>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const url = /its metrics, while it runs: (\S+)/.exec(stderr)?.[1];
        if (url && stderr.includes('demo: echo-load --clients')) resolve(url);
      }),
    );
    // Interrupt once all 50 connections are up, as the server's own metrics tell (bounded polling).
    for (let tries = 0; tries < 300; tries++) {
      const text = await (await fetch(metrics)).text();
      if (/^echo_connections_active{listener="plain"} 50$/m.test(text)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('demo: echo-server shut down cleanly (exit 0)\n');
    expect(stderr).not.toContain('echo-load failed');
    expect(stdout).toContain('50 of 50 connections held');
  }, 90_000);

  it('rejects a bad option with one line and exit code 2', async () => {
    const result = await demo(['--duration', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain("'soon'");
  });
});
