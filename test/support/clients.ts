import net from 'node:net';

/** Python's bytes.upper(): what the server must send back for `bytes`. */
export function expectedEcho(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.map((b) => (b >= 0x61 && b <= 0x7a ? b - 0x20 : b)));
}

/** Connects to 127.0.0.1:port; rejects on a connection error. */
export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
  });
}

/** Collects what arrives on `socket` until `bytes` have come, the peer closes, or `timeoutMs` passes. */
export function readBytes(socket: net.Socket, bytes: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', finish);
      socket.removeListener('end', finish);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
    socket.resume();
  });
}

/** Sends `payload`, half-closes, and collects everything until the server closes. */
export async function echoOnce(port: number, payload: Uint8Array): Promise<Buffer> {
  const socket = await connect(port);
  socket.on('error', () => {});
  const reply = readBytes(socket, Infinity);
  socket.end(payload);
  const bytes = await reply;
  socket.destroy();
  return bytes;
}

/** Resolves once `socket` has closed (or after `timeoutMs`, with false). */
export function closed(socket: net.Socket, timeoutMs = 10_000): Promise<boolean> {
  if (socket.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
}
