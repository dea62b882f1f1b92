import { describe, expect, it } from 'vitest';
import { classifySocketError, describeHandshakeFailure, describeMismatch, isTlsError } from '../../../load/result/failure.js';

const error = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

describe('failures', () => {
  it('sorts socket errors into the report categories', () => {
    expect(classifySocketError(error('ECONNREFUSED'), true, 0).kind).toBe('refused');
    expect(classifySocketError(error('ECONNRESET'), false, 0).kind).toBe('reset');
    expect(classifySocketError(error('EPIPE'), false, 0).kind).toBe('reset');
    expect(classifySocketError(error('ETIMEDOUT'), true, 0).kind).toBe('timeout');
    expect(classifySocketError(error('EADDRNOTAVAIL'), true, 0).kind).toBe('error');
    expect(classifySocketError(error('ECONNREFUSED'), true, 7).text).toBe('connection refused (ECONNREFUSED), connection 7');
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
