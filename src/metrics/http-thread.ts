/**
 * The metrics endpoint's HTTP server runs on a thread of its own. Why: measured under echo
 * load, an HTTP server on the main thread cost 2-3% of echo throughput even when scraped only
 * once a second, because HTTP sockets then flow through the same Node.js stream internals as
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

/**
 * The HTTP thread's program, as source so that it runs the same from src/ (vitest) and dist/.
 * It keeps no state but the responses it waits for; `close` ends open keep-alive connections
 * too, since Prometheus holds one open between scrapes.
 */
export const HTTP_THREAD_SOURCE = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const waiting = new Map();
let lastId = 0;
let listening = false;
const server = createServer((request, response) => {
  const id = ++lastId;
  waiting.set(id, response);
  response.once('close', () => waiting.delete(id));
  parentPort.postMessage({ type: 'request', id, method: request.method, url: request.url });
});
server.on('error', (error) => {
  parentPort.postMessage({ type: 'error', code: error.code, message: error.message });
  if (!listening) parentPort.close();
});
parentPort.on('message', (message) => {
  if (message.type === 'response') {
    const response = waiting.get(message.id);
    if (!response) return; // the client went away meanwhile
    waiting.delete(message.id);
    response.writeHead(message.status, message.headers);
    response.end(message.body);
  } else if (message.type === 'close') {
    server.close(() => parentPort.postMessage({ type: 'closed' }));
    server.closeAllConnections();
  }
});
server.listen(workerData.port, workerData.host, () => {
  listening = true;
  parentPort.postMessage({ type: 'listening', port: server.address().port });
});
`;
