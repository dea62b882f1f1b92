import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { serverOptionsFrom } from './server-env.js';
import { HAPROXY_CONFIG, backendServers, readHaproxyConfig, section } from './haproxy-config.js';
import { requireTool, run } from './tools.js';

const config = readHaproxyConfig();

/** `haproxy -c` on a configuration given as text. */
async function check(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'echo-haproxy-check-'));
  try {
    writeFileSync(join(dir, 'haproxy.cfg'), text);
    return await run('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('deploy/haproxy/haproxy.cfg', () => {
  beforeAll(() => requireTool('haproxy'));

  it('passes haproxy -c, where the replicas\' Compose names do not resolve (init-addr none) and nothing else is amiss', async () => {
    const result = await run('haproxy', ['-c', '-f', HAPROXY_CONFIG]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Configuration file is valid');
    const warnings = (result.stdout + result.stderr).split('\n').filter((line) => line.includes('[WARNING]'));
    for (const warning of warnings) expect(warning).toMatch(/could not resolve address 'echo-\d'/);
  });

  it('is a check that fails on a broken configuration', async () => {
    const result = await check(config.replace('balance leastconn', 'balance fewestconn'));
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/haproxy.cfg:\d+\] : balance only supports/);
  });

  it('sends the PROXY protocol v2 header to every replica, and health-checks /healthz on the server\'s metrics port', () => {
    const backend = section(config, 'backend echo_replicas');
    const defaults = backend.find((line) => line.startsWith('default-server '))!.split(/\s+/);
    expect(defaults).toContain('send-proxy-v2');
    expect(defaults).toContain('check');
    // The check goes to the metrics port (so it carries no PROXY header), echo-server's default.
    expect(defaults[defaults.indexOf('port') + 1]).toBe(String(serverOptionsFrom({}).metrics?.port));
    expect(backend).toContain('option httpchk');
    expect(backend).toContain('http-check send meth GET uri /healthz');
    expect(backend).toContain('http-check expect status 200');
    // No server line overrides the defaults: all three are treated alike.
    expect(backendServers(config)).toHaveLength(3);
    expect(backend.filter((line) => line.startsWith('server ')).every((line) => line.split(/\s+/).length === 3)).toBe(true);
  });

  it('serves HAProxy\'s Prometheus exporter on its stats frontend', () => {
    const stats = section(config, 'frontend stats');
    expect(stats).toContain('mode http');
    expect(stats).toContain('http-request use-service prometheus-exporter if { path /metrics }');
  });
});
