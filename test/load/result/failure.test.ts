import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { classifySocketError, describeHandshakeFailure, describeMismatch, isTlsError } from '../../../load/result/failure.js';

const error = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

describe('failures', () => {
  it('sorts socket errors into the report categories', () => {
    expect(classifySocketError(error('ECONNREFUSED'), true, 0).kind).toBe('refused');
    expect(classifySocketError(error('ECONNRESET'), false, 0).kind).toBe('reset');
    expect(classifySocketError(error('EPIPE'), false, 0).kind).toBe('reset');
    expect(classifySocketError(error('ETIMEDOUT'), true, 0).kind).toBe('timeout');
    expect(classifySocketError(error('EHOSTUNREACH'), true, 0).kind).toBe('error');
    expect(classifySocketError(error('ECONNREFUSED'), true, 7).text).toBe('connection refused (ECONNREFUSED), connection 7');
  });

  it('calls the errors of real sockets that get no local address and port out of local ports', async () => {
    const server = net.createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    // The error a connect gets, from a socket that cannot have the local end it asks for.
    const failure = (local: { localAddress: string; localPort?: number }) =>
      new Promise<NodeJS.ErrnoException>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port, ...local });
        socket.on('error', resolve);
        socket.on('connect', () => reject(new Error(`connected from ${socket.localAddress}:${socket.localPort}`)));
      });
    try {
      // 192.0.2.1 (TEST-NET-1) is no address of this machine: bind() fails.
      const notLocal = await failure({ localAddress: '192.0.2.1' });
      expect([notLocal.code, notLocal.syscall]).toEqual(['EADDRNOTAVAIL', 'bind']);
      expect(classifySocketError(notLocal, true, 4)).toEqual({ kind: 'portsExhausted', text: 'no free local port, or the source address is not local (EADDRNOTAVAIL), connection 4' });
      // The listener's own port, asked for as the local end: taken, as every port is once an
      // address's ephemeral ports have run out (that one, bind(port 0), is in ports-exhausted.test.ts).
      const taken = await failure({ localAddress: '127.0.0.1', localPort: port });
      expect(taken.code).toBe('EADDRINUSE');
      expect(classifySocketError(taken, true, 5)).toEqual({ kind: 'portsExhausted', text: 'no free local port on the source address (EADDRINUSE), connection 5' });
    } finally {
      server.close();
    }
  });

  it('names the first wrong byte and its position on the connection', () => {
    const text = describeMismatch(Buffer.from('ABxD'), Buffer.from('ABCDABCD'), 8, 100, 3);
    expect(text).toBe("connection 3, byte 102: expected 0x43 'C', got 0x78 'x'");
  });

  it('calls bytes beyond what was sent a mismatch too', () => {
    expect(describeMismatch(Buffer.from('ABCDAB'), Buffer.from('ABCDABCD'), 4, 0, 1)).toBe('connection 1, byte 4: 2 bytes more than were sent');
  });

  it('names a failed TLS handshake by its cause', () => {
    const tlsError = (code: string, message: string, reason?: string) => Object.assign(new Error(message), { code, reason });
    expect(describeHandshakeFailure(tlsError('CERT_HAS_EXPIRED', 'certificate has expired'), 3)).toBe('certificate error: certificate has expired (CERT_HAS_EXPIRED), connection 3');
    expect(describeHandshakeFailure(tlsError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'long OpenSSL text', 'sslv3 alert bad certificate'), 1)).toMatch(/^certificate error: sslv3 alert bad certificate/);
    expect(describeHandshakeFailure(tlsError('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'x', 'tlsv1 alert unknown ca'), 1)).toMatch(/^certificate error: /);
    expect(describeHandshakeFailure(tlsError('ERR_SSL_WRONG_VERSION_NUMBER', 'long OpenSSL text', 'wrong version number'), 2)).toBe(
      'protocol mismatch: wrong version number (ERR_SSL_WRONG_VERSION_NUMBER), connection 2',
    );
    expect(describeHandshakeFailure(error('ECONNRESET'), 5)).toBe('closed during the TLS handshake: connection reset by peer (ECONNRESET), connection 5');
    expect([isTlsError(tlsError('ERR_SSL_WRONG_VERSION_NUMBER', '')), isTlsError(tlsError('DEPTH_ZERO_SELF_SIGNED_CERT', '')), isTlsError(error('ECONNRESET'))]).toEqual([true, true, false]);
  });
});
