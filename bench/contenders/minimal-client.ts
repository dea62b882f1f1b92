/**
 * The baseline for the client benchmark: the smallest honest ping-pong client. One socket per
 * connection, a `data` handler that counts and writes the next message, nothing else: no byte
 * checks, no latency, no threads. (It counts bytes rather than reads, so that a message split
 * over two reads is still one message.)
 * Usage: minimal-client.js PORT CLIENTS SIZE WARMUP_MS DURATION_MS
 * Prints one JSON line: { "messages": n, "seconds": s }.
 */
import net from 'node:net';

const [port, clients, size, warmupMs, durationMs] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const message = Buffer.alloc(size, 'a');
let messages = 0;

for (let i = 0; i < clients; i++) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let received = 0;
  socket.on('error', () => {});
  socket.on('connect', () => socket.write(message));
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    while (received >= size) {
      received -= size;
      messages++;
      socket.write(message);
    }
  });
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
