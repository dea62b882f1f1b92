import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { createMetricsRegistry, type ServerCounters } from './registry.js';

/** The metrics endpoint could not start (port in use, bad address, ...). */
export class MetricsServerError extends Error {
  /** Node's code for the cause, e.g. `EADDRINUSE`, or `EMETRICS` when there is none. */
  readonly code: string;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code ?? 'EMETRICS';
  }
}

/** What `startMetricsServer` needs; the logger only has to have pino's `info` and `error`. */
export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port; the one chosen is in the result. */
  port: number;
  stats: ServerCounters;
  /** True while the server serves; false once shutdown began (`/healthz` then answers 503). */
  isHealthy: () => boolean;
  logger: { info(object: object, message: string): void; error(object: object, message: string): void };
  version: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  port: number;
  registry: Registry;
  /** Stops listening and ends open scrape connections (Prometheus keeps them alive). */
  close(): Promise<void>;
}

/**
 * Serves the Prometheus text format on `GET /metrics` and health on `GET /healthz` (200 `ok`
 * while serving, 503 `shutting down` once `isHealthy()` turns false), on its own HTTP port so
 * that echo traffic and monitoring never share a socket. Any other path answers 404.
 *
 * @example
 *   const metrics = await startMetricsServer({
 *     host: '127.0.0.1', port: 9464, stats, isHealthy: () => !stopping, logger, version,
 *   });
 *   // ... later, after the echo server has drained:
 *   await metrics.close();
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, isHealthy, logger } = options;
  const registry = createMetricsRegistry({ stats: options.stats, version: options.version });

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' && path !== '/healthz') return reply(response, 404, 'not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return reply(response, 405, 'method not allowed\n');
    }
    if (path === '/healthz') {
      return isHealthy() ? reply(response, 200, 'ok\n') : reply(response, 503, 'shutting down\n');
    }
    registry.metrics().then(
      (text) => reply(response, 200, text, registry.contentType),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics collection failed');
        reply(response, 500, 'metrics collection failed\n');
      },
    );
  };

  const server = createServer(handle);
  let listening = false;
  await new Promise<void>((resolve, reject) => {
    server.on('error', (error: NodeJS.ErrnoException) => {
      if (listening) return logger.error({ err: error }, 'metrics server error');
      const where = `${host.includes(':') ? `[${host}]` : host}:${options.port}`;
      const reason = REASONS[error.code ?? ''] ?? error.message;
      reject(new MetricsServerError(`cannot serve metrics on ${where}: ${reason}`, error.code));
    });
    server.listen(options.port, host, () => {
      listening = true;
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host, port, paths: ['/metrics', '/healthz'] }, 'metrics listening');

  let closed: Promise<void> | undefined;
  return {
    port,
    registry,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

// Said for a person, with the way out: metrics have their own port.
const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use (choose another --metrics-port, or --no-metrics)',
  EADDRNOTAVAIL: 'address not available on this machine (see --metrics-host)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

function reply(response: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}
