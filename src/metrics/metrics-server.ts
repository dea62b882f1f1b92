import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import type { FromHttpThread, HttpThreadData, ToHttpThread } from './http-messages.js';
import { describeListenFailure } from '../listen-error.js';

// The HTTP thread's program is a file of its own, plain JavaScript (see http-thread.js), next
// to this one both in src/ and in dist/.
const HTTP_THREAD = new URL('./http-thread.js', import.meta.url);

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
  /**
   * What `/metrics` shows: a registry (see `createMetricsRegistry`), or one made afresh for
   * each scrape (the primary of several workers aggregates theirs).
   */
  registry: Registry | (() => Promise<Registry>);
  logger: { info(object: object, message: string): void; error(object: object, message: string): void };
}

/** A running metrics endpoint. */
export interface MetricsServer {
  port: number;
  /** `/healthz` answers 200 while healthy (the start), 503 once set unhealthy (shutdown began). */
  setHealthy(healthy: boolean): void;
  /** Stops listening and ends open scrape connections (Prometheus keeps them alive). */
  close(): Promise<void>;
}

/**
 * Serves the Prometheus text format on `GET /metrics` and health on `GET /healthz` (200 `ok`
 * while healthy, 503 `shutting down` after `setHealthy(false)`), on its own port so that echo
 * traffic and monitoring never share a socket; any other path answers 404. The HTTP server
 * runs on a thread of its own (see `http-thread.js`), at the lowest priority, and answers
 * health itself; the registry, and so every number, stays on this thread, which renders it
 * once for all the scrapes that wait meanwhile.
 *
 * @example
 *   const metrics = await startMetricsServer({
 *     host: '127.0.0.1', port: 9464, registry: createMetricsRegistry({ stats, version }), logger,
 *   });
 *   metrics.setHealthy(false);   // when shutdown begins
 *   // ... later, after the echo server has drained:
 *   await metrics.close();
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, logger } = options;
  const source = options.registry;
  const render = async (): Promise<{ body: string; contentType: string }> => {
    const registry = typeof source === 'function' ? await source() : source;
    return { body: await registry.metrics(), contentType: registry.contentType };
  };
  const health = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  Atomics.store(health, 0, 1);
  const workerData: HttpThreadData = { host, port: options.port, health };
  const thread = new Worker(HTTP_THREAD, { workerData, name: 'metrics http' });
  const send = (message: ToHttpThread) => thread.postMessage(message);

  let listening = false;
  let closed: (() => void) | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    thread.on('error', (error) => {
      // The thread itself failed (never expected): before start-up it is the start-up error.
      if (listening) logger.error({ err: error }, 'metrics thread failed');
      else reject(error);
    });
    thread.on('message', (message: FromHttpThread) => {
      switch (message.type) {
        case 'listening':
          listening = true;
          return resolve(message.port);
        case 'error':
          if (!listening) return reject(listenError(host, options.port, message.code, message.message));
          return logger.error({ code: message.code, err: message.message }, 'metrics server error');
        case 'render':
          return void render().then(
            ({ body, contentType }) => send({ type: 'response', ids: message.ids, status: 200, headers: { 'Content-Type': contentType }, body }),
            (error: unknown) => {
              logger.error({ err: error }, 'metrics collection failed');
              send({ type: 'response', ids: message.ids, status: 500, headers: {}, body: 'metrics collection failed\n' });
            },
          );
        case 'closed':
          return closed?.();
      }
    });
  }).catch(async (error: unknown) => {
    await thread.terminate();
    throw error;
  });
  logger.info({ host, port, paths: ['/metrics', '/healthz'] }, 'metrics listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    setHealthy(healthy) {
      Atomics.store(health, 0, healthy ? 1 : 0);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = resolve;
        send({ type: 'close' });
      }).then(async () => {
        await thread.terminate();
      });
      return closing;
    },
  };
}

function listenError(host: string, port: number, code: string | undefined, message: string): MetricsServerError {
  return new MetricsServerError(`cannot serve metrics on ${describeListenFailure(host, port, code, message, METRICS_HINTS)}`, code);
}

// Metrics have their own port: the way out is another port, or none.
const METRICS_HINTS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use (choose another --metrics-port, or --no-metrics)',
  EADDRNOTAVAIL: 'address not available on this machine (see --metrics-host)',
};
