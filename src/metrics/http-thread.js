// @ts-check
/**
 * The metrics endpoint's HTTP thread (see `http-messages.ts` for why it has a thread, and
 * `metrics-server.ts` for the main thread's side). It answers health, 404 and 405 itself; for
 * `/metrics` it asks the main thread for a rendering, one at a time, which answers every
 * request waiting. `close` ends open keep-alive connections too, since Prometheus holds one
 * open between scrapes.
 *
 * Plain JavaScript, type-checked through `// @ts-check` (see `tsconfig.json`), so that the
 * same file runs from src/ under vitest and from dist/: Node cannot start a worker from a .ts
 * file. The message types come from `http-messages.ts`, as types only.
 */
import { createServer } from 'node:http';
import { setPriority } from 'node:os';
import { URL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { ownThreadId } from '../tasks/clock.js';

/** @typedef {import('./http-messages.js').FromHttpThread} FromHttpThread */
/** @typedef {import('./http-messages.js').ToHttpThread} ToHttpThread */

if (!parentPort) throw new Error('http-thread.js runs as a worker thread');
const port = parentPort;
/** @type {import('./http-messages.js').HttpThreadData} */
const { host, port: listenPort, health } = workerData;

/**
 * This thread yields to the echo loop: on Linux a thread has a nice value of its own
 * (setpriority on its thread id), so it takes the lowest. When monitoring and echo traffic
 * compete for a core, echo traffic wins and scrapes wait (`npm run bench:storm` measures it).
 * Elsewhere, or where the kernel refuses, the thread keeps the process's priority.
 *
 * Only once it listens: the server's start waits for this thread, and at nice 19 beside other
 * busy processes a thread gets about 1.5% of a core. Set before the thread listened, it made
 * echo-server's start take 1.1-3.0 s instead of 1.2-1.3 s with four CPU hogs on its core.
 */
function yieldToTheEchoLoop() {
  const threadId = ownThreadId(); // 0: not Linux, or no /proc
  if (threadId === 0) return;
  try {
    setPriority(threadId, 19);
  } catch {
    // No /proc, or not allowed: run at the process's priority.
  }
}

/** @param {FromHttpThread} message */
const send = (message) => port.postMessage(message);

/** @type {Map<number, import('node:http').ServerResponse>} */
const waiting = new Map();
/** Metrics requests not yet sent to the main thread, and whether a rendering is under way. */
/** @type {number[]} */
let wanting = [];
let rendering = false;
let lastId = 0;
let listening = false;

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

/**
 * `GET /metrics`: the main thread's rendering; `GET /healthz`: 200 `ok` while healthy, 503
 * `shutting down` once shutdown began; other methods on those paths 405, other paths 404. A
 * query string is ignored.
 */
const server = createServer((request, response) => {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') return void response.writeHead(404, TEXT).end('not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return void response.writeHead(405, { ...TEXT, Allow: 'GET, HEAD' }).end('method not allowed\n');
  }
  if (path === '/healthz') {
    return void (Atomics.load(health, 0) === 1 ? response.writeHead(200, TEXT).end('ok\n') : response.writeHead(503, TEXT).end('shutting down\n'));
  }
  const id = ++lastId;
  waiting.set(id, response);
  response.once('close', () => waiting.delete(id));
  wanting.push(id);
  askForRendering();
});

/** One rendering at a time; the requests that came meanwhile share the next. */
function askForRendering() {
  if (rendering || wanting.length === 0) return;
  rendering = true;
  send({ type: 'render', ids: wanting });
  wanting = [];
}

server.on('error', (/** @type {NodeJS.ErrnoException} */ error) => {
  send({ type: 'error', code: error.code, message: error.message });
  if (!listening) port.close();
});

port.on('message', (/** @type {ToHttpThread} */ message) => {
  if (message.type === 'response') {
    rendering = false;
    for (const id of message.ids) {
      const response = waiting.get(id);
      if (!response) continue; // the client went away meanwhile
      waiting.delete(id);
      response.writeHead(message.status, message.headers);
      response.end(message.body);
    }
    askForRendering();
  } else if (message.type === 'close') {
    server.close(() => send({ type: 'closed' }));
    server.closeAllConnections();
  }
});

server.listen(listenPort, host, () => {
  listening = true;
  const address = server.address();
  send({ type: 'listening', port: typeof address === 'object' && address ? address.port : listenPort });
  yieldToTheEchoLoop();
});
