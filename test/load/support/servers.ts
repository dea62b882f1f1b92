import net from 'node:net';
import tls from 'node:tls';
import { afterEach } from 'vitest';
import { INCOMPLETE, parseProxyHeader, type ProxyHeader, type ProxyProtocolMode } from '../../../src/server/proxy-protocol/index.js';
import { upperAscii } from '../../../load/worker/payload.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/**
 * A hand-written server for the fault tests: `onData` decides what each connection gets back
 * (`options`: net.createServer's, e.g. `allowHalfOpen`). Closed (and its sockets destroyed)
 * after the test.
 */
export async function startFakeServer(
  onData: (socket: net.Socket, chunk: Buffer) => void,
  options: net.ServerOpts = {},
): Promise<{ port: number; server: net.Server }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(options, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => onData(socket, chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, server };
}

/** Echoes bytes unchanged: not upper-cased, so every echo is a mismatch. */
export function plainEcho(socket: net.Socket, chunk: Buffer): void {
  socket.write(chunk);
}

/**
 * Upper-cases correctly but flips one byte in every `every` bytes it echoes on each
 * connection (bytes `every - 1`, `2 * every - 1`, ... of the connection, counted from 0), so
 * a test knows where each connection's first wrong byte is.
 */
export function corruptingEcho(every: number): (socket: net.Socket, chunk: Buffer) => void {
  const positions = new WeakMap<net.Socket, number>();
  return (socket, chunk) => {
    const out = upperAscii(chunk);
    let position = positions.get(socket) ?? 0;
    for (let i = 0; i < out.length; i++) {
      if (++position % every === 0) out[i] = out[i]! ^ 0x01;
    }
    positions.set(socket, position);
    socket.write(out);
  };
}

/** Upper-cases correctly, but echoes each chunk twice in one write: bytes the client never sent. */
export function doublingEcho(socket: net.Socket, chunk: Buffer): void {
  const echo = upperAscii(chunk);
  socket.write(Buffer.concat([echo, echo]));
}

/**
 * Upper-cases correctly until a connection has sent `limit` bytes, echoes that chunk too, then
 * ends the connection politely (FIN), as a server that closes mid-run would.
 */
export function closingEcho(limit: number): (socket: net.Socket, chunk: Buffer) => void {
  const seen = new WeakMap<net.Socket, number>();
  return (socket, chunk) => {
    const total = (seen.get(socket) ?? 0) + chunk.length;
    seen.set(socket, total);
    socket.write(upperAscii(chunk));
    if (total >= limit) socket.end();
  };
}

/**
 * Upper-cases correctly, but holds each of a connection's first `count` chunks `delayMs`
 * before echoing it: a server slow to warm up, then quick. (With one message in flight per
 * connection, chunks never overtake each other.)
 */
export function slowStartEcho(count: number, delayMs: number): (socket: net.Socket, chunk: Buffer) => void {
  const seen = new WeakMap<net.Socket, number>();
  return (socket, chunk) => {
    const n = (seen.get(socket) ?? 0) + 1;
    seen.set(socket, n);
    const echo = upperAscii(chunk);
    if (n > count) socket.write(echo);
    else setTimeout(() => socket.destroyed || socket.write(echo), delayMs);
  };
}

/** Echoes correctly until a connection has sent `limit` bytes, then resets it (RST). */
export function resettingEcho(limit: number): (socket: net.Socket, chunk: Buffer) => void {
  const seen = new WeakMap<net.Socket, number>();
  return (socket, chunk) => {
    const total = (seen.get(socket) ?? 0) + chunk.length;
    seen.set(socket, total);
    if (total >= limit) socket.resetAndDestroy();
    else socket.write(upperAscii(chunk));
  };
}

/**
 * Echoes correctly but in pieces of 1 to 7 bytes, one piece per event-loop turn, so reads on
 * the client side split messages anywhere (and, with pipelining, join them). Order is kept:
 * each connection has one queue of bytes still to echo.
 */
export function dribblingEcho(): (socket: net.Socket, chunk: Buffer) => void {
  const queues = new WeakMap<net.Socket, Buffer[]>();
  return (socket, chunk) => {
    let queue = queues.get(socket);
    const idle = queue === undefined || queue.length === 0;
    if (queue === undefined) {
      queue = [];
      queues.set(socket, queue);
      socket.setNoDelay(true);
    }
    queue.push(upperAscii(chunk));
    if (!idle) return;
    let piece = 0;
    const next = () => {
      const head = queue[0];
      if (head === undefined || socket.destroyed) return;
      const size = 1 + (piece++ % 7);
      socket.write(head.subarray(0, size));
      if (size >= head.length) queue.shift();
      else queue[0] = head.subarray(size);
      setImmediate(next);
    };
    next();
  };
}

/**
 * Upper-cases correctly, but each connection's first chunk only: after that it reads on and
 * never answers again, so a connection gets its first echo and then waits forever.
 */
export function firstChunkOnlyEcho(): (socket: net.Socket, chunk: Buffer) => void {
  const answered = new WeakSet<net.Socket>();
  return (socket, chunk) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    socket.write(upperAscii(chunk));
  };
}

/**
 * A correct upper-casing echo server that accepts at once but starts reading each connection
 * only `delayMs` after accepting it (`pauseOnConnect`, then `resume`): what the client sent
 * first waits in the kernel's receive buffer meanwhile, as it would for a connection the
 * server has not accepted yet.
 */
export async function startLateReadingServer(delayMs: number): Promise<{ port: number }> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => socket.write(upperAscii(chunk)));
    const timer = setTimeout(() => {
      timers.delete(timer);
      socket.resume();
    }, delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const timer of timers) clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port };
}

/**
 * Echoes correctly, but closes idle connections first, as an idle timeout would, without a
 * clock: once `senders` connections have sent something and `silent` more have connected, it
 * ends (FIN) every connection that has sent nothing, and holds all echoes until those have
 * closed. So the closes happen while the senders still wait for their echoes.
 */
export async function startIdleClosingServer(senders: number, silent: number): Promise<{ port: number }> {
  const accepted = new Set<net.Socket>();
  const talking = new Set<net.Socket>();
  const held: Array<[net.Socket, Buffer]> = [];
  let closing = false;
  let released = false;
  const release = () => {
    released = true;
    for (const [socket, chunk] of held.splice(0)) socket.write(upperAscii(chunk));
  };
  const closeSilent = () => {
    if (closing || talking.size < senders || accepted.size < senders + silent) return;
    closing = true;
    const idle = [...accepted].filter((socket) => !talking.has(socket));
    let open = idle.length;
    for (const socket of idle) socket.on('close', () => --open === 0 && release()).end();
    if (open === 0) release();
  };
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    accepted.add(socket);
    socket.on('data', (chunk: Buffer) => {
      talking.add(socket);
      if (released) socket.write(upperAscii(chunk));
      else held.push([socket, chunk]);
      closeSilent();
    });
    closeSilent();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port };
}

/**
 * A TCP relay in front of `targetPort` that measures, per connection, the most bytes that were
 * ever sent by the client and not yet echoed back: how much the client really pipelines.
 */
export async function startMeasuringRelay(targetPort: number): Promise<{ port: number; maxOutstanding: () => number }> {
  let maxOutstanding = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    client.setNoDelay(true);
    sockets.add(client).add(upstream);
    let outstanding = 0;
    client.on('data', (chunk: Buffer) => {
      outstanding += chunk.length;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      outstanding -= chunk.length;
      client.write(chunk);
    });
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, maxOutstanding: () => maxOutstanding };
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What a PROXY-parsing test server saw: each connection's header, and its socket's real peer. */
export interface SeenHeader {
  header: ProxyHeader;
  peer: { address: string; port: number };
}

/**
 * Reads a PROXY header (with the server's parser) from the start of `socket`, then hands the
 * socket and the bytes after the header to `next`. A refused header closes the connection.
 */
function readProxyHeader(socket: net.Socket, mode: ProxyProtocolMode, seen: SeenHeader[], next: (socket: net.Socket, rest: Buffer) => void): void {
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    let header: ReturnType<typeof parseProxyHeader>;
    try {
      header = parseProxyHeader(received, mode);
    } catch {
      socket.destroy();
      return;
    }
    if (header === INCOMPLETE) return;
    socket.off('data', onData);
    seen.push({ header, peer: { address: socket.remoteAddress!, port: socket.remotePort! } });
    next(socket, received.subarray(header.length));
  };
  socket.on('data', onData);
}

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

/**
 * A correct upper-casing echo server behind a PROXY header: each connection must start with
 * one (`mode`), which it records; what follows is echoed. On `host` (127.0.0.1 or ::1).
 */
export async function startProxyEchoServer(mode: ProxyProtocolMode, host = '127.0.0.1'): Promise<{ port: number; seen: SeenHeader[] }> {
  const seen: SeenHeader[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    readProxyHeader(socket, mode, seen, (s, rest) => {
      if (rest.length > 0) s.write(upperAscii(rest));
      s.on('data', (chunk: Buffer) => s.write(upperAscii(chunk)));
    });
  });
  const port = await listen(server, host);
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port, seen };
}

/**
 * A real Node `tls` echo server (upper-casing), with the options given (certificate, mutual
 * TLS, versions). With `proxy`, each TCP connection starts with a PROXY header before the TLS
 * handshake (HAProxy's TLS pass-through with send-proxy); the bytes after it go to TLS.
 * `secured` lists each TLS connection's client certificate subject (CN), or '' without one.
 */
export async function startTlsEchoServer(
  options: tls.TlsOptions,
  proxy?: ProxyProtocolMode,
): Promise<{ port: number; seen: SeenHeader[]; secured: string[]; server: tls.Server }> {
  const seen: SeenHeader[] = [];
  const secured: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(options, (socket) => {
    socket.setNoDelay(true);
    secured.push(String(socket.getPeerCertificate().subject?.CN ?? ''));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => socket.write(upperAscii(chunk)));
  });
  server.on('tlsClientError', () => {});
  let listening: net.Server = server;
  if (proxy !== undefined) {
    // The PROXY header comes on the raw connection: a plain server reads it, then hands the
    // connection (and what came after the header) to the TLS server.
    listening = net.createServer((socket) => {
      socket.on('error', () => {});
      readProxyHeader(socket, proxy, seen, (s, rest) => {
        s.pause();
        if (rest.length > 0) s.unshift(rest);
        server.emit('connection', s);
      });
    });
  }
  listening.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(listening, '127.0.0.1');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => listening.close(() => resolve()));
  });
  return { port, seen, secured, server };
}
