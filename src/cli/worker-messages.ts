/**
 * What the primary of `--workers` and its worker processes say to each other over their IPC
 * channel. The primary sends signals for the rest (SIGTERM to shut down, SIGHUP to reload).
 */

/** Primary to worker. */
export type ToWorker =
  /** Send your metrics (request `id`), as prom-client's JSON, for the primary to add up. */
  { type: 'metrics'; id: number };

/** Worker to primary. */
export type FromWorker =
  /** Listening, on these ports (the first worker picks them when port 0 was asked for). */
  | { type: 'listening'; port: number; tlsPort: number | null }
  /** The worker's `registry.getMetricsAsJSON()`. */
  | { type: 'metrics'; id: number; metrics: object[] }
  /**
   * Shutdown has begun and the worker's listeners are closed: no new connection reaches it.
   * Sent first thing on its SIGTERM, before it logs anything.
   */
  | { type: 'listeners-closed' };

/** The environment variable that makes a process a worker: its number, 1 to n. */
export const WORKER_ENV = 'ECHO_WORKER';
