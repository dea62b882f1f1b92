/**
 * The baseline: a bare `net` echo server, a `data` handler that upper-cases and writes,
 * nothing else (no backpressure, no limits, no metrics). Usage: bare-server.js PORT
 * Prints `listening PORT` once it listens.
 */
import net from 'node:net';

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b >= 0x61 && b <= 0x7a) chunk[i] = b - 0x20;
    }
    socket.write(chunk);
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
