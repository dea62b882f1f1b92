import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireTool, ROOT, run } from './tools.js';

const CONFIG = join(ROOT, 'deploy', 'prometheus.yml');

describe('deploy/prometheus.yml', () => {
  beforeAll(() => requireTool('promtool'));

  it('passes promtool check config', async () => {
    const result = await run('promtool', ['check', 'config', CONFIG]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('scrapes echo-server on its metrics port, by its Compose service name', () => {
    expect(readFileSync(CONFIG, 'utf8')).toMatch(/job_name: echo-server\s+static_configs:\s+- targets: \["echo-server:9464"\]/);
  });

  it('is a check that fails on a broken configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'echo-promtool-'));
    try {
      const broken = join(dir, 'prometheus.yml');
      writeFileSync(broken, readFileSync(CONFIG, 'utf8').replace('scrape_interval: 5s', 'scrape_interval: often'));
      const result = await run('promtool', ['check', 'config', broken]);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('often');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
