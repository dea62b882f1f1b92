/**
 * The load of the TLS and PROXY benchmark (load/bench/tls-proxy.ts). Usage:
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
import { encodeProxyHeader } from '../proxy-header.js';

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

/** Connect, one round trip, close; then the next connection. */
function churn(): void {
  const socket = open();
  let pending = size;
  // The header and the first message in one write, as a proxy sends them when the client's
  // first bytes are there at connect time: the same packets as without a header.
  const send = () => {
    if (mode !== 'churn-proxy-v2') return socket.write(message);
    const header = encodeProxyHeader(2, { address: socket.localAddress!, port: socket.localPort! }, { address: '127.0.0.1', port });
    return socket.write(Buffer.concat([header, message]));
  };
  socket.once(mode === 'churn-tls' ? 'secureConnect' : 'connect', send);
  socket.on('data', (chunk: Buffer) => {
    pending -= chunk.length;
    if (pending <= 0) {
      completed++;
      socket.destroy();
    }
  });
  socket.on('error', () => errors++);
  socket.on('close', churn);
}

for (let i = 0; i < concurrency; i++) (mode.startsWith('ping') ? ping : churn)();
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`count ${completed} ${errors}\n`));
process.on('SIGTERM', () => process.exit(0));
