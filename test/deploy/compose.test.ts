import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../../src/parse-option.js';
import { requireTool, ROOT, run } from './tools.js';

interface Service {
  image: string;
  build?: { context: string };
  command?: string[];
  profiles?: string[];
  init?: boolean;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  ulimits?: { nofile?: { soft: number; hard: number } };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
}

const ALL_PROFILES = ['--profile', 'load', '--profile', 'monitoring'];
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** `docker-compose config` output (normalised, interpolated YAML) as an object. */
async function composeConfig(): Promise<Record<string, Service>> {
  const config = await run('docker-compose', [...ALL_PROFILES, 'config']);
  expect(config.stderr).toBe('');
  expect(config.code).toBe(0);
  return (parseYaml(config.stdout) as { services: Record<string, Service> }).services;
}

describe('docker-compose.yml', () => {
  let services: Record<string, Service>;
  beforeAll(async () => {
    requireTool('docker-compose');
    services = await composeConfig();
  });

  it('passes docker-compose config with every profile and defines the four services', async () => {
    const listed = await run('docker-compose', [...ALL_PROFILES, 'config', '--services']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n').sort()).toEqual(['echo-load', 'echo-server', 'grafana', 'prometheus']);
  });

  it('is rejected by docker-compose config when a field is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'echo-compose-'));
    try {
      const broken = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8').replace('service_healthy', 'service_exploded');
      writeFileSync(join(dir, 'docker-compose.yml'), broken);
      const result = await run('docker-compose', [...ALL_PROFILES, 'config'], { cwd: dir });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('service_exploded');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pins every image to an exact version', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+(-[\w.]+)?$/);
    }
    expect(services['echo-server']!.image).toBe(`echo:${VERSION}`);
  });

  it('runs echo-server always, with an init, a health check, many descriptors and a long stop grace', () => {
    const server = services['echo-server']!;
    expect(server.profiles).toBeUndefined();
    expect(server.build?.context).toBe(ROOT.replace(/\/$/, ''));
    expect(server.init).toBe(true);
    expect(server.healthcheck?.test).toEqual(['CMD', 'node', '/app/deploy/healthcheck.js']);
    expect(server.ulimits?.nofile?.soft).toBeGreaterThanOrEqual(65536);
    // Both set in the file, not left to defaults (echo-server's 5 s, Compose's 10 s) that a
    // fallback here would stand in for: the grace period outlasts the server's own shutdown.
    expect(server.environment?.ECHO_SHUTDOWN_TIMEOUT).toBeDefined();
    expect(server.stop_grace_period).toBeDefined();
    const shutdown = parseDuration(server.environment!.ECHO_SHUTDOWN_TIMEOUT!);
    expect(parseDuration(server.stop_grace_period!)).toBeGreaterThan(shutdown);
  });

  it('starts echo-load from the same image, under "load", once the server is healthy', () => {
    const load = services['echo-load']!;
    expect(load.image).toBe(services['echo-server']!.image);
    expect(load.profiles).toEqual(['load']);
    expect(load.init).toBe(true);
    expect(load.command?.slice(0, 5)).toEqual(['echo-load', '--host', 'echo-server', '--clients', '500']);
    expect(load.depends_on).toEqual({ 'echo-server': { condition: 'service_healthy' } });
  });

  it('puts Prometheus and Grafana under "monitoring", configured from files in deploy/', () => {
    expect(services.prometheus!.profiles).toEqual(['monitoring']);
    expect(services.grafana!.profiles).toEqual(['monitoring']);
    const mounts = [...services.prometheus!.volumes!, ...services.grafana!.volumes!];
    expect(mounts.length).toBe(3);
    for (const mount of mounts) {
      const source = mount.split(':')[0]!;
      expect(source.startsWith(join(ROOT, 'deploy')), mount).toBe(true);
      expect(existsSync(source), mount).toBe(true);
    }
  });

  it('publishes ports on loopback only', () => {
    const ports = Object.values(services).flatMap((service) => service.ports ?? []);
    expect(ports.sort()).toEqual(
      ['127.0.0.1:3000:3000/tcp', '127.0.0.1:8090:8090/tcp', '127.0.0.1:9090:9090/tcp', '127.0.0.1:9464:9464/tcp'],
    );
  });
});
