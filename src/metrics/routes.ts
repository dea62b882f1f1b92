import type { Registry } from 'prom-client';

/** One HTTP answer, as plain data (it crosses to the HTTP thread as a message). */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Answers one request to the metrics port: `GET /metrics` is the registry in the Prometheus
 * text format, `GET /healthz` is 200 `ok` while `isHealthy()` and 503 `shutting down` after;
 * other methods on those paths get 405, other paths 404. A query string is ignored.
 *
 * @example
 *   const reply = await route('GET', '/healthz', registry, () => true); // { status: 200, ... }
 */
export async function route(method: string, url: string, registry: Registry, isHealthy: () => boolean): Promise<Reply> {
  const path = new URL(url, 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') return text(404, 'not found\n');
  if (method !== 'GET' && method !== 'HEAD') return { ...text(405, 'method not allowed\n'), headers: allow };
  if (path === '/healthz') return isHealthy() ? text(200, 'ok\n') : text(503, 'shutting down\n');
  const body = await registry.metrics();
  return { status: 200, headers: { 'Content-Type': registry.contentType }, body };
}

const allow = { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' };

function text(status: number, body: string): Reply {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body };
}
