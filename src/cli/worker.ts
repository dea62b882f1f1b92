/**
 * The worker side of `--workers` (primary.ts is the other): a worker process is the whole
 * server (serve.ts), started by its primary with `WORKER_ENV` set, and speaks to it over the
 * IPC channel (worker-messages.ts).
 */
import { snapshot } from '../metrics/index.js';
import { WORKER_ENV, type FromWorker, type ToWorker } from './worker-messages.js';

/** This process's worker number (1 to n), or undefined when it is no worker. */
export function workerNumber(): number | undefined {
  const value = process.env[WORKER_ENV];
  return value === undefined ? undefined : Number(value);
}

/** Answers the primary's requests for metrics, with this worker's registry as JSON. */
export function answerPrimary(registry: Parameters<typeof snapshot>[0]): void {
  process.on('message', (message: ToWorker) => {
    if (message.type !== 'metrics') return;
    void snapshot(registry).then((metrics) => {
      const reply: FromWorker = { type: 'metrics', id: message.id, metrics };
      process.send?.(reply);
    });
  });
}

/**
 * The stop signals of a worker: SIGTERM from the primary, or the primary going away. SIGINT
 * is the primary's (a terminal's Ctrl-C reaches every process of the group).
 */
export function onWorkerStop(stop: (signal: NodeJS.Signals) => void): void {
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => {});
  process.on('disconnect', () => stop('SIGTERM'));
}

/** Tells the primary that this worker's listeners are closed (see `FromWorker`). */
export function tellListenersClosed(): void {
  if (process.connected) process.send?.({ type: 'listeners-closed' } satisfies FromWorker);
}

/** Tells the primary this worker listens, and on which ports. */
export function tellListening(port: number, tlsPort: number | null): void {
  process.send?.({ type: 'listening', port, tlsPort } satisfies FromWorker);
}
