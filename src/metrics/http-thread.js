// @ts-check
/**
 * The metrics endpoint's HTTP thread (see `http-messages.ts` for why it has a thread, and
 * `metrics-server.ts` for the main thread's side). It only moves bytes: each request goes to
 * the main thread as a message, and the answer comes back as one. It keeps no state but the
 * responses it waits for; `close` ends open keep-alive connections too, since Prometheus holds
 * one open between scrapes.
 *
 * Plain JavaScript, type-checked through `// @ts-check` (see `tsconfig.json`), so that the
 * same file runs from src/ under vitest and from dist/: Node cannot start a worker from a .ts
 * file. The message types come from `http-messages.ts`, as types only.
 */
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** @typedef {import('./http-messages.js').FromHttpThread} FromHttpThread */
/** @typedef {import('./http-messages.js').ToHttpThread} ToHttpThread */

if (!parentPort) throw new Error('http-thread.js runs as a worker thread');
const port = parentPort;
/** @type {import('./http-messages.js').HttpThreadData} */
const { host, port: listenPort } = workerData;

/** @param {FromHttpThread} message */
const send = (message) => port.postMessage(message);

/** @type {Map<number, import('node:http').ServerResponse>} */
const waiting = new Map();
let lastId = 0;
let listening = false;

const server = createServer((request, response) => {
  const id = ++lastId;
  waiting.set(id, response);
  response.once('close', () => waiting.delete(id));
  send({ type: 'request', id, method: request.method ?? 'GET', url: request.url ?? '/' });
});

server.on('error', (/** @type {NodeJS.ErrnoException} */ error) => {
  send({ type: 'error', code: error.code, message: error.message });
  if (!listening) port.close();
});

port.on('message', (/** @type {ToHttpThread} */ message) => {
  if (message.type === 'response') {
    const response = waiting.get(message.id);
    if (!response) return; // the client went away meanwhile
    waiting.delete(message.id);
    response.writeHead(message.status, message.headers);
    response.end(message.body);
  } else if (message.type === 'close') {
    server.close(() => send({ type: 'closed' }));
    server.closeAllConnections();
  }
});

server.listen(listenPort, host, () => {
  listening = true;
  const address = server.address();
  send({ type: 'listening', port: typeof address === 'object' && address ? address.port : listenPort });
});
