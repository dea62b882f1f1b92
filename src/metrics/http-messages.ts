/**
 * What the metrics endpoint's main thread and its HTTP thread (`http-thread.js`) say to each
 * other. The HTTP server runs on a thread of its own. Why: measured under echo load, an HTTP
 * server on the main thread cost 2-3% of echo throughput even when scraped only once a second, because HTTP sockets then flow through the same Node.js stream internals as
 * the echo sockets and make them polymorphic (V8 deoptimised `onStreamRead`, `Readable.read`,
 * `onwrite` at the first scrape). On its own thread it cost nothing measurable. The thread
 * only moves bytes: every request goes to the main thread as a message, and the main thread
 * (which owns the counters and the registry) answers it; see `metrics-server.ts`.
 */

/** Messages from the HTTP thread to the main thread. */
export type FromHttpThread =
  | { type: 'listening'; port: number }
  | { type: 'error'; code: string | undefined; message: string }
  | { type: 'request'; id: number; method: string; url: string }
  | { type: 'closed' };

/** Messages from the main thread to the HTTP thread. */
export type ToHttpThread =
  | { type: 'response'; id: number; status: number; headers: Record<string, string>; body: string }
  | { type: 'close' };

/** What the HTTP thread needs to start: where to listen. */
export interface HttpThreadData {
  host: string;
  port: number;
}
