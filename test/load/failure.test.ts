import { describe, expect, it } from 'vitest';
import { classifySocketError, describeMismatch } from '../../load/failure.js';

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
});
