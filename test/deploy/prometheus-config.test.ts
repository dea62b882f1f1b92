import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { backendServers, readHaproxyConfig, section } from './haproxy-config.js';
import { requireTool, ROOT, run } from './tools.js';

const CONFIG = join(ROOT, 'deploy', 'prometheus.yml');

/** Each scrape job's static targets. */
function jobs(): Record<string, string[]> {
  const config = parseYaml(readFileSync(CONFIG, 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  return Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.static_configs.flatMap((c) => c.targets)]));
}

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

  it('scrapes each replica of the Compose profile "cluster" on its metrics port, and HAProxy\'s exporter on its stats frontend', () => {
    const replicas = backendServers(readHaproxyConfig()).map((server) => `${server.name}:9464`);
    expect(jobs()['echo-cluster']).toEqual(replicas);
    const statsPort = /^bind :(\d+)$/m.exec(section(readHaproxyConfig(), 'frontend stats').join('\n'))?.[1];
    expect(jobs().haproxy).toEqual([`haproxy:${statsPort}`]);
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
