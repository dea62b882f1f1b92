import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// src/log.ts: JSON lines for machines; pino-pretty only when a person is watching a terminal.
const FIXTURE = fileURLToPath(new URL('./fixtures/log-lines.mjs', import.meta.url));

describe('logs', () => {
  it('are JSON lines when stdout is not a terminal', () => {
    const result = spawnSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 15_000 });
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.name, l.msg])).toEqual([
      [30, 'echo-server', 'listening'],
      [40, 'echo-server', 'event loop blocked by a task that did not switch'],
    ]);
    expect(lines[1]).toMatchObject({ task: 'conn 127.0.0.1:5555', blockedMs: 301 });
  });

  it('are human-readable on a terminal, and flushed before the process exits', () => {
    // util-linux `script` gives the child a real pseudo-terminal.
    const result = spawnSync('script', ['-qec', `"${process.execPath}" "${FIXTURE}"`, '/dev/null'], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(0);
    // eslint-disable-next-line no-control-regex -- colours are expected on a terminal; compare the text
    const text = result.stdout.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');
    expect(text).not.toContain('{"level"');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d\d\d\] INFO \(echo-server\): listening\n {4}port: 8090\n/m);
    expect(text).toMatch(/WARN \(echo-server\): event loop blocked by a task that did not switch\n/);
    expect(text).toContain('    task: "conn 127.0.0.1:5555"\n');
    expect(text).not.toContain('below the level');
  });
});
