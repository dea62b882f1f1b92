/**
 * A minimal ping-pong client for the server benchmark: CLIENTS connections, each sends one
 * SIZE-byte message, waits for SIZE bytes back, sends the next. Counts round trips during
 * the measured window (after a warm-up) and prints one JSON line.
 * Usage: ping-client.js PORT CLIENTS SIZE WARMUP_MS DURATION_MS
 */
import net from 'node:net';

const [port, clients, size, warmupMs, durationMs] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const message = Buffer.alloc(size, 'ping pong ');
let counting = false;
let messages = 0;
let errors = 0;

for (let i = 0; i < clients; i++) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let pending = size;
  socket.on('error', () => errors++);
  socket.on('connect', () => socket.write(message));
  socket.on('data', (chunk: Buffer) => {
    pending -= chunk.length;
    while (pending <= 0) {
      if (counting) messages++;
      pending += size;
      socket.write(message);
    }
  });
}

setTimeout(() => {
  counting = true;
  const started = performance.now();
  setTimeout(() => {
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ messages, seconds, errors })}\n`);
    process.exit(0);
  }, durationMs);
}, warmupMs);
