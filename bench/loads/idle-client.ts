/**
 * Opens CONNECTIONS idle connections (a few at a time), prints `connected N` when all are up,
 * and holds them until killed. Usage: idle-client.js PORT CONNECTIONS
 */
import net from 'node:net';

const [port, connections] = process.argv.slice(2).map(Number) as [number, number];
const sockets: net.Socket[] = [];
let connected = 0;
let failed = 0;

function open(): void {
  if (sockets.length >= connections) return;
  const socket = net.connect({ port, host: '127.0.0.1' });
  sockets.push(socket);
  socket.on('error', () => failed++);
  socket.on('connect', () => {
    if (++connected + failed === connections) process.stdout.write(`connected ${connected} failed ${failed}\n`);
    open();
  });
}
for (let i = 0; i < 64; i++) open();
process.on('SIGTERM', () => process.exit(0));
