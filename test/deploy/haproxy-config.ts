import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './tools.js';

/** The HAProxy configuration of the Compose profile "cluster". */
export const HAPROXY_CONFIG = join(ROOT, 'deploy', 'haproxy', 'haproxy.cfg');

export function readHaproxyConfig(): string {
  return readFileSync(HAPROXY_CONFIG, 'utf8');
}

/** The lines of one section (`backend echo_replicas`, say), comments dropped, trimmed. */
export function section(config: string, header: string): string[] {
  const lines = config.split('\n').map((line) => line.replace(/#.*$/, '').trimEnd());
  const start = lines.findIndex((line) => line === header);
  if (start < 0) throw new Error(`no section '${header}' in haproxy.cfg`);
  const end = lines.findIndex((line, index) => index > start && /^\S/.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).map((line) => line.trim()).filter((line) => line !== '');
}

/** A `server` line of the backend: its name, address and port. */
export interface BackendServer {
  name: string;
  host: string;
  port: number;
}

export function backendServers(config: string): BackendServer[] {
  return section(config, 'backend echo_replicas').flatMap((line) => {
    const match = /^server (\S+) (\S+):(\d+)$/.exec(line);
    return match === null ? [] : [{ name: match[1]!, host: match[2]!, port: Number(match[3]) }];
  });
}

/** Where each replica really is, for `onLoopback`. */
export interface LoopbackReplica {
  port: number;
  metricsPort: number;
}

/**
 * The same configuration on loopback, for a test: the two frontends bound to the given
 * ports on 127.0.0.1, and each `server` line pointing at a local echo-server (its echo port,
 * and its own metrics port for the health check, where Compose's replicas all use 9464).
 * Everything else, send-proxy-v2 and the checks included, stays as it is. Throws if the
 * file no longer has the lines it rewrites, so that the test cannot run some other logic.
 *
 * @example
 *   const config = onLoopback(readHaproxyConfig(), { echoPort, statsPort, replicas });
 */
export function onLoopback(config: string, at: { echoPort: number; statsPort: number; replicas: readonly LoopbackReplica[] }): string {
  const servers = backendServers(config);
  if (servers.length !== at.replicas.length) throw new Error(`haproxy.cfg has ${servers.length} servers, the test ${at.replicas.length} replicas`);
  let result = replaceOnce(config, /^(\s*bind) :8090$/m, `$1 127.0.0.1:${at.echoPort}`);
  result = replaceOnce(result, /^(\s*bind) :8404$/m, `$1 127.0.0.1:${at.statsPort}`);
  servers.forEach((server, index) => {
    const replica = at.replicas[index]!;
    const line = new RegExp(`^(\\s*server ${server.name}) ${server.host}:${server.port}$`, 'm');
    result = replaceOnce(result, line, `$1 127.0.0.1:${replica.port} port ${replica.metricsPort}`);
  });
  return result;
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`haproxy.cfg no longer matches ${pattern}`);
  return text.replace(pattern, replacement);
}
