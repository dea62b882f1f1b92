/**
 * What the metrics endpoint's main thread and its HTTP thread (`http-thread.js`) say to each
 * other. The HTTP server runs on a thread of its own. Why: measured under echo load, an HTTP
 * server on the main thread cost 2-3% of echo throughput even when scraped only once a second, because HTTP sockets then flow through the same Node.js stream internals as
 * the echo sockets and make them polymorphic (V8 deoptimised `onStreamRead`, `Readable.read`,
 * `onwrite` at the first scrape). On its own thread it cost nothing measurable.
 *
 * The thread answers what it can alone: `/healthz` from a flag in shared memory that the main
 * thread sets, 404 and 405. Only `/metrics` needs the main thread, which owns the counters and
 * the registry: the thread asks for a rendering, and the main thread renders once for every
 * request waiting meanwhile (see `metrics-server.ts`), so a storm of scrapes costs the echo loop
 * a rendering at a time, not one per request.
 */

/** Messages from the HTTP thread to the main thread. */
export type FromHttpThread =
  | { type: 'listening'; port: number }
  | { type: 'error'; code: string | undefined; message: string }
  /** Requests `ids` want the metrics: one rendering answers them all. */
  | { type: 'render'; ids: number[] }
  | { type: 'closed' };

/** Messages from the main thread to the HTTP thread. */
export type ToHttpThread =
  | { type: 'response'; ids: number[]; status: number; headers: Record<string, string>; body: string }
  | { type: 'close' };

/** What the HTTP thread needs to start: where to listen, and the health flag. */
export interface HttpThreadData {
  host: string;
  port: number;
  /** Slot 0: 1 while the server is healthy, 0 once shutdown has begun (`/healthz` answers 503). */
  health: Int32Array;
}
