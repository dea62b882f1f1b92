import { describe, expect, it } from 'vitest';
import { failureCountFields, failureCountsOf, FAILURE_KIND_NAMES, noFailures, totalFailures } from '../../../load/result/failure-kind.js';
import { SLOT_FAILED, Tally } from '../../../load/worker/tally.js';

describe('failure kinds', () => {
  it('are refused, handshake, reset, timeout, mismatch, out of local ports and other error, in report order', () => {
    expect(FAILURE_KIND_NAMES).toEqual(['refused', 'handshake', 'reset', 'timeout', 'mismatch', 'portsExhausted', 'error']);
    expect(noFailures()).toEqual({ refused: 0, handshake: 0, reset: 0, timeout: 0, mismatch: 0, portsExhausted: 0, error: 0 });
  });

  it('keep the JSON keys tools already read, with other errors only in the total', () => {
    const counts = { refused: 1, handshake: 6, reset: 2, timeout: 3, mismatch: 4, portsExhausted: 7, error: 5 };
    expect(failureCountFields(counts)).toEqual({ refused: 1, handshakeFailures: 6, resets: 2, timeouts: 3, mismatches: 4, portsExhausted: 7 });
    expect(totalFailures(counts)).toBe(28);
    expect(failureCountsOf({ ...failureCountFields(counts), errors: 28 })).toEqual(counts);
  });

  it('are counted by the tally one per failed connection, with the first of each kind in words', () => {
    const shared = new Float64Array(4);
    const tally = new Tally(shared, 0);
    tally.fail('timeout', 'no echo within 300 ms, connection 1');
    tally.fail('timeout', 'no echo within 300 ms, connection 2');
    tally.fail('error', 'host unreachable (EHOSTUNREACH), connection 3');
    expect(tally.counts(0, 0).failed).toEqual({ refused: 0, handshake: 0, reset: 0, timeout: 2, mismatch: 0, portsExhausted: 0, error: 1 });
    expect(tally.notes).toEqual({ timeout: 'no echo within 300 ms, connection 1', error: 'host unreachable (EHOSTUNREACH), connection 3' });
    // The live total the main thread samples for the progress line.
    expect(shared[SLOT_FAILED]).toBe(3);
  });
});
