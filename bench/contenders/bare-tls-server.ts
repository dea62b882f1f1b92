/**
 * The TLS baseline: a bare `tls` echo server, a `data` handler that upper-cases and writes,
 * nothing else, with echo-server's TLS profile (src/tls-profile.ts): with Node's own default
 * list (another suite order) the same client would negotiate another suite with each server.
 * Usage: bare-tls-server.js CERT KEY PORT
 * Prints `listening PORT` once it listens.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { DEFAULT_TLS_PROTOCOL } from '../../src/tls-profile.js';
import { upperBytes } from './bare-upper.js';

const [cert, key, port] = process.argv.slice(2) as [string, string, string];
const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key), ...DEFAULT_TLS_PROTOCOL }, (socket) => {
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => socket.write(upperBytes(chunk)));
});
server.on('tlsClientError', () => {});
server.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
