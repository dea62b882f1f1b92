/**
 * The minimal client (minimal-client.ts) written with the task runtime instead: one task per
 * connection whose body is the ping-pong loop, fed by a mailbox from the socket's `data`
 * events. Same work, same protocol: `npm run bench:client -- --tasks` compares the two, which
 * is what a task costs a client per message (echo-load's driver is an event-driven state
 * machine; see the comment on LoadConnection).
 * Usage: task-client.js PORT CLIENTS SIZE WARMUP_MS DURATION_MS
 * Prints one JSON line: { "messages": n, "seconds": s }.
 */
import net from 'node:net';
import { Mailbox, spawn, type Operation } from '../../src/tasks/index.js';

const [port, clients, size, warmupMs, durationMs] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const message = Buffer.alloc(size, 'a');
let messages = 0;

/** One connection's life: wait for bytes, count whole echoes, send the next message. */
function* pingPong(socket: net.Socket, reads: Operation<number | null>): Operation<void> {
  let received = 0;
  for (;;) {
    const bytes = yield* reads;
    if (bytes === null) return;
    received += bytes;
    while (received >= size) {
      received -= size;
      messages++;
      socket.write(message);
    }
  }
}

for (let i = 0; i < clients; i++) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  const reads = new Mailbox<number>(undefined, Infinity);
  socket.on('error', () => reads.end());
  socket.on('close', () => reads.end());
  socket.on('connect', () => socket.write(message));
  socket.on('data', (chunk: Buffer) => reads.put(chunk.length));
  spawn(pingPong, socket, reads);
}

setTimeout(() => {
  const before = messages;
  const started = performance.now();
  setTimeout(() => {
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ messages: messages - before, seconds })}\n`);
    process.exit(0);
  }, durationMs);
}, warmupMs);
