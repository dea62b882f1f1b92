/**
 * The load of the TLS and PROXY benchmark (bench/tls-proxy.ts). Usage:
 *   setup-client.js MODE PORT CONCURRENCY SIZE
 * MODE `ping-tls`: CONCURRENCY TLS connections, each sending a SIZE-byte message and waiting
 * for SIZE bytes back, again and again. MODE `churn-tls`, `churn-plain`, `churn-proxy-v2`:
 * CONCURRENCY loops that each connect (over TLS; plain; plain with a PROXY v2 header first),
 * make one round trip of SIZE bytes and close, again and again. On each line `count` on
 * stdin it prints `count N`: the round trips (ping) or connections (churn) completed so far.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { encodeProxyHeader } from '../../load/worker/proxy-header.js';

const [mode, portText, concurrencyText, sizeText] = process.argv.slice(2) as [string, string, string, string];
const [port, concurrency, size] = [Number(portText), Number(concurrencyText), Number(sizeText)];
const message = Buffer.alloc(size, 'ping pong ');
let completed = 0;
let errors = 0;

function open(): net.Socket {
  if (mode.endsWith('-tls')) return tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }).setNoDelay(true);
  return net.connect({ port, host: '127.0.0.1', noDelay: true });
}

/** One connection that plays ping-pong until the process ends. */
function ping(): void {
  const socket = open();
  let pending = size;
  socket.on('error', () => errors++);
  socket.once('secureConnect', () => socket.write(message));
  socket.on('data', (chunk: Buffer) => {
    pending -= chunk.length;
    while (pending <= 0) {
      completed++;
      pending += size;
      socket.write(message);
    }
  });
}

/**
 * What each churn loop writes first: the message, after a PROXY v2 header in that mode. The
 * header and the message go in one write, as a proxy sends them when the client's first bytes
 * are there at connect time: the same packets as without a header. Each loop has its own
 * header (its own source address, 10.0.x.y), built once: the server still parses one for every
 * connection, and the client does the same work per connection in both modes. (Built per
 * connection from the socket's own address, the header costs this client, near a full core of
 * its own, enough to lower the rate it drives with PROXY on.)
 */
const firstWrites = Array.from({ length: concurrency }, (_, loop) => {
  if (mode !== 'churn-proxy-v2') return message;
  const source = { address: `10.0.${loop >> 8}.${loop & 255}`, port: 10000 + loop };
  return Buffer.concat([encodeProxyHeader(2, source, { address: '127.0.0.1', port }), message]);
});

/** Connect, one round trip, close; then the next connection of loop `loop`. */
function churn(loop: number): void {
  const socket = open();
  let pending = size;
  socket.once(mode === 'churn-tls' ? 'secureConnect' : 'connect', () => socket.write(firstWrites[loop]!));
  socket.on('data', (chunk: Buffer) => {
    pending -= chunk.length;
    if (pending <= 0) {
      completed++;
      socket.destroy();
    }
  });
  socket.on('error', () => errors++);
  socket.on('close', () => churn(loop));
}

for (let i = 0; i < concurrency; i++) {
  if (mode.startsWith('ping')) ping();
  else churn(i);
}
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`count ${completed} ${errors}\n`));
process.on('SIGTERM', () => process.exit(0));
