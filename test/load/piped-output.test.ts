import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../load/result/result.js';
import { startServer } from '../support/server.js';
import { LOAD_CLI } from './support/cli.js';

/** More than a pipe holds (64 KiB on Linux): each target adds about 1.5 KB, its encoded histograms, to the JSON. */
const TARGETS = 60;

/**
 * `echo-load ... | reader`, where the reader takes nothing until echo-load has logged that it
 * stops measuring, and one second more: by then echo-load has written its result, and a
 * process that exited would have left in the pipe only the 64 KiB it holds.
 */
const SLOW_PIPE = `
  "$@" 2>"$LOG" | { until grep -q '"msg":"stopping"' "$LOG"; do sleep 0.05; done; sleep 1; cat; }
  exit "\${PIPESTATUS[0]}"`;

describe('echo-load into a pipe whose reader is slow', () => {
  it('writes the whole result before it exits', async () => {
    const servers = await Promise.all(Array.from({ length: TARGETS }, () => startServer()));
    const targets = servers.flatMap((server) => ['--target', `127.0.0.1:${server.port}`]);
    const directory = mkdtempSync(join(tmpdir(), 'echo-load-pipe-'));
    try {
      const argv = [process.execPath, LOAD_CLI, ...targets, '--clients', String(TARGETS), '--workers', '1', '--duration', '1s', '--json', '--no-progress', '--log-level', 'info'];
      const child = spawn('bash', ['-c', SLOW_PIPE, 'bash', ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG: join(directory, 'stderr') } });
      const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(guard);
      expect(code).toBe(0);
      expect(stdout.length).toBeGreaterThan(65_536);
      const result = JSON.parse(stdout) as LoadResult;
      expect(result.targets).toHaveLength(TARGETS);
      expect(result.errors).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
