import net from 'node:net';

/** What one connection got back before it ended, and how it ended. */
export interface Conversation {
  reply: Buffer;
  /** The error that ended it (ECONNRESET when the server aborted), or undefined after a clean close. */
  error: string | undefined;
  /** The client's own port (the server's peer). */
  localPort: number;
}

/**
 * One connection that sends `bytes` in a single write (one segment on loopback, so a header and
 * what follows it arrive together), half-closes, and collects everything until the server
 * closes, bounded by `timeoutMs`. `localAddress` binds the client's end (127.0.0.2, say).
 *
 * @example
 *   const { reply } = await converse(port, Buffer.concat([header, Buffer.from('hi')]));
 *   // reply.toString() === 'HI'
 */
export function converse(port: number, bytes: Uint8Array, options: { localAddress?: string; timeoutMs?: number; end?: boolean } = {}): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let localPort = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${options.timeoutMs ?? 10_000} ms; got ${Buffer.concat(chunks).length} bytes`));
    }, options.timeoutMs ?? 10_000);
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('connect', () => {
      localPort = socket.localPort!;
      socket.setNoDelay(true);
      if (options.end === false) socket.write(bytes);
      else socket.end(bytes);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), error, localPort });
    });
  });
}
