import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../../src/parse-option.js';
import { CLOSE_DEADLINE_MS } from '../../src/server/connection.js';
import { backendServers, readHaproxyConfig, section } from './haproxy-config.js';
import { serverOptionsFrom } from './server-env.js';
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
  networks?: Record<string, unknown>;
}

interface Config {
  services: Record<string, Service>;
  networks: Record<string, { ipam?: { config: Array<{ subnet: string }> } }>;
}

const ALL_PROFILES = ['--profile', 'load', '--profile', 'monitoring', '--profile', 'cluster'];
const REPLICAS = ['echo-1', 'echo-2', 'echo-3'];
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** This environment without the variables the Compose file reads, plus `env`. */
function composeEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ECHO_')));
  return { ...clean, ...env };
}

/** `docker-compose config` output (normalised, interpolated YAML) as an object. */
async function composeConfig(env: Record<string, string> = {}): Promise<Config> {
  const config = await run('docker-compose', [...ALL_PROFILES, 'config'], { env: composeEnv(env) });
  expect(config.stderr).toBe('');
  expect(config.code).toBe(0);
  return parseYaml(config.stdout) as Config;
}

describe('docker-compose.yml', () => {
  let services: Record<string, Service>;
  let config: Config;
  beforeAll(async () => {
    requireTool('docker-compose');
    config = await composeConfig();
    services = config.services;
  });

  it('passes docker-compose config with every profile and defines the services', async () => {
    const listed = await run('docker-compose', [...ALL_PROFILES, 'config', '--services'], { env: composeEnv() });
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n').sort()).toEqual(['echo-1', 'echo-2', 'echo-3', 'echo-load', 'echo-server', 'grafana', 'haproxy', 'prometheus']);
  });

  it('passes docker-compose config with each profile alone, and with none', async () => {
    for (const profiles of [[], ['load'], ['monitoring'], ['cluster']]) {
      const result = await run('docker-compose', [...profiles.flatMap((p) => ['--profile', p]), 'config', '--quiet'], { env: composeEnv() });
      expect(result.code, `${profiles.join(',')}: ${result.stderr}`).toBe(0);
    }
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

  it('points echo-load at HAProxy with ECHO_LOAD_HOST=haproxy, on the port HAProxy listens on', async () => {
    const load = (await composeConfig({ ECHO_LOAD_HOST: 'haproxy' })).services['echo-load']!;
    expect(load.command?.slice(0, 3)).toEqual(['echo-load', '--host', 'haproxy']);
    // No --port: echo-load's default, 8090, is the echo port of HAProxy's frontend as of the server.
    expect(load.command).not.toContain('--port');
    expect(section(readHaproxyConfig(), 'frontend echo')).toContain('bind :8090');
    expect(serverOptionsFrom({}).server.port).toBe(8090);
    // HAProxy and echo-load share the default network.
    expect(Object.keys(services.haproxy!.networks!)).toContain('default');
    expect(load.networks).toBeUndefined();
  });

  it('runs three replicas under "cluster", each behind HAProxy and taking its PROXY v2 header from the cluster network only', () => {
    const subnet = config.networks.cluster!.ipam!.config[0]!.subnet;
    expect(subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    for (const name of REPLICAS) {
      const replica = services[name]!;
      expect(replica.image, name).toBe(services['echo-server']!.image);
      expect(replica.profiles, name).toEqual(['cluster']);
      expect(replica.init, name).toBe(true);
      expect(replica.healthcheck?.test, name).toEqual(['CMD', 'node', '/app/deploy/healthcheck.js']);
      expect(replica.ulimits?.nofile?.soft, name).toBeGreaterThanOrEqual(65536);
      // Reached through HAProxy only: not published, not on the default network.
      expect(replica.ports, name).toBeUndefined();
      expect(Object.keys(replica.networks!), name).toEqual(['cluster']);
      expect(replica.environment?.ECHO_PROXY_PROTOCOL_FROM, name).toBe(subnet);
      // The server's own parser accepts the environment, and what it makes of it.
      const options = serverOptionsFrom(replica.environment!);
      expect(options.server.proxy?.mode, name).toBe('v2');
      const [address, prefix] = subnet.split('/');
      expect(options.server.proxy?.trusted, name).toEqual([{ address, prefix: Number(prefix), family: 'ipv4' }]);
      expect(parseDuration(replica.stop_grace_period!), name).toBeGreaterThan(options.server.shutdownTimeoutMs + CLOSE_DEADLINE_MS);
    }
  });

  it('moves the cluster network and the replicas\' trust together with ECHO_CLUSTER_SUBNET', async () => {
    const moved = await composeConfig({ ECHO_CLUSTER_SUBNET: '192.168.231.0/24' });
    expect(moved.networks.cluster!.ipam!.config[0]!.subnet).toBe('192.168.231.0/24');
    for (const name of REPLICAS) expect(moved.services[name]!.environment?.ECHO_PROXY_PROTOCOL_FROM).toBe('192.168.231.0/24');
  });

  it('runs HAProxy (pinned, under "cluster") with deploy/haproxy/haproxy.cfg, in front of exactly the replicas', () => {
    const haproxy = services.haproxy!;
    expect(haproxy.profiles).toEqual(['cluster']);
    expect(haproxy.volumes).toEqual([`${join(ROOT, 'deploy', 'haproxy')}:/usr/local/etc/haproxy:ro`]);
    expect(Object.keys(haproxy.networks!).sort()).toEqual(['cluster', 'default']);
    expect(Object.keys(haproxy.depends_on!).sort()).toEqual(REPLICAS);
    // Its backend: the replicas by their service names, on the port they listen on.
    const replicaPort = serverOptionsFrom(services['echo-1']!.environment!).server.port;
    expect(backendServers(readHaproxyConfig())).toEqual(REPLICAS.map((name) => ({ name, host: name, port: replicaPort })));
    // Published: its echo frontend and its stats/metrics frontend, as haproxy.cfg binds them.
    expect(haproxy.ports).toEqual(['127.0.0.1:8091:8090/tcp', '127.0.0.1:8404:8404/tcp']);
    expect(section(readHaproxyConfig(), 'frontend stats')).toContain('bind :8404');
    // Descriptors for HAProxy's derived connection limit; a stop grace longer than its hard-stop-after.
    expect(haproxy.ulimits?.nofile?.soft).toBeGreaterThanOrEqual(131072);
    const hardStop = /^\s*hard-stop-after (\S+)$/m.exec(readHaproxyConfig())?.[1];
    expect(parseDuration(haproxy.stop_grace_period!)).toBeGreaterThan(parseDuration(hardStop!));
  });

  it('puts Prometheus and Grafana under "monitoring", configured from files in deploy/', () => {
    expect(services.prometheus!.profiles).toEqual(['monitoring']);
    // Prometheus reaches the replicas' metrics on the cluster network.
    expect(Object.keys(services.prometheus!.networks!).sort()).toEqual(['cluster', 'default']);
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
      [
        '127.0.0.1:3000:3000/tcp',
        '127.0.0.1:8090:8090/tcp',
        '127.0.0.1:8091:8090/tcp',
        '127.0.0.1:8404:8404/tcp',
        '127.0.0.1:9090:9090/tcp',
        '127.0.0.1:9464:9464/tcp',
      ],
    );
  });
});
