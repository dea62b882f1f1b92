import { describe, expect, it } from 'vitest';
import { connect, echoOnce, expectedEcho, readBytes } from '../support/clients.js';
import { startServer } from '../support/server.js';

describe('echo server bytes', () => {
  it('echoes all 256 byte values upper-cased like bytes.upper()', async () => {
    const { server } = await startServer();
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const reply = await echoOnce(server.port, all);
    expect(reply.equals(expectedEcho(all))).toBe(true);
  });

  it('passes UTF-8 text split at every byte boundary through unchanged but for ASCII letters', async () => {
    const { server } = await startServer();
    const text = Buffer.from('grüße, ǆ ß Ω 😀 from the echo server', 'utf8');
    const expected = expectedEcho(text);
    const socket = await connect(server.port);
    for (let cut = 0; cut <= text.length; cut++) {
      const reply = readBytes(socket, text.length);
      socket.write(text.subarray(0, cut));
      // A separate write, after a turn of the event loop, so the cut reaches the server.
      await new Promise((r) => setImmediate(r));
      socket.write(text.subarray(cut));
      const bytes = await reply;
      expect(bytes.equals(expected), `split at byte ${cut}`).toBe(true);
    }
    socket.destroy();
  });

  it('echoes 1 MiB payloads on 20 connections at once, exactly', async () => {
    const { server } = await startServer();
    const payloads = Array.from({ length: 20 }, (_, n) => {
      const bytes = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + n * 7) & 0xff;
      return bytes;
    });
    const replies = await Promise.all(payloads.map((payload) => echoOnce(server.port, payload)));
    replies.forEach((reply, n) => {
      expect(reply.length).toBe(payloads[n]!.length);
      expect(reply.equals(expectedEcho(payloads[n]!)), `connection ${n}`).toBe(true);
    });
    expect(server.stats.bytesReceived).toBe(20 * 1024 * 1024);
    expect(server.stats.bytesSent).toBe(20 * 1024 * 1024);
  });

  it('keeps order and length over many small writes on one connection', async () => {
    const { server } = await startServer();
    const socket = await connect(server.port);
    const parts: Buffer[] = [];
    for (let i = 0; i < 2000; i++) parts.push(Buffer.from(`msg-${i}-abcxyz;`));
    const total = Buffer.concat(parts);
    const reply = readBytes(socket, total.length);
    for (const part of parts) socket.write(part);
    expect((await reply).equals(expectedEcho(total))).toBe(true);
    socket.destroy();
  });
});
