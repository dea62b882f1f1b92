/**
 * The baseline: a bare `net` echo server, a `data` handler that upper-cases and writes,
 * nothing else (no backpressure, no limits, no metrics). Usage: bare-server.js PORT
 * Prints `listening PORT` once it listens.
 */
import net from 'node:net';
import { upperBytes } from './bare-upper.js';

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => socket.write(upperBytes(chunk)));
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
