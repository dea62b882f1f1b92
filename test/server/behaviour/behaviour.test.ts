import { describe, expect, it } from 'vitest';
import { hasFaults, NO_BEHAVIOUR, parseAfter, parseBehaviour, parseBytes } from '../../../src/server/behaviour/behaviour.js';

describe('parseBehaviour', () => {
  it('reads every name into its field, and leaves the rest as they were', () => {
    const b = parseBehaviour(
      { delay: '100ms', jitter: '20ms', bandwidth: '1MiB/s', 'reset-after': '1000', slice: '7', 'fault-rate': '0.3', banner: '{host} w{worker} {listener} {client}' },
      '--listen 8091',
    );
    expect(b).toEqual({
      ...NO_BEHAVIOUR,
      delayMs: 100,
      jitterMs: 20,
      bandwidth: 1024 * 1024,
      resetAfter: { bytes: 1000 },
      slice: 7,
      faultRate: 0.3,
      banner: '{host} w{worker} {listener} {client}',
    });
    expect(parseBehaviour({ 'close-after': '10s' }, '', b)).toMatchObject({ delayMs: 100, resetAfter: undefined, closeAfter: { ms: 10_000 } });
  });

  it('says where and what in one line for each bad value', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ speed: '1' }, /^--listen 8091: unknown behaviour 'speed' \(known: delay, jitter/],
      [{ delay: 'soon' }, /^--listen 8091: delay must be a duration/],
      [{ 'fault-rate': '1.5' }, /^--listen 8091: fault-rate must be a share from 0 to 1/],
      [{ 'fault-rate': '-0.1' }, /fault-rate must be a share/],
      [{ slice: '0' }, /slice must be a byte count .* at least 1/],
      [{ bandwidth: 'fast' }, /bandwidth must be a byte count/],
      [{ 'stall-after': '10 parsecs' }, /stall-after must be a byte count \(1000, 64KiB\) or a duration/],
      [{ banner: 'a\nb' }, /banner must be one non-empty line/],
      [{ banner: '{hostname}' }, /unknown placeholder \{hostname\} \(known: \{host\} \{worker\} \{listener\} \{client\}\)/],
      [{ 'close-after': '1000', 'reset-after': '2000' }, /exclude each other/],
      [{ jitter: '10ms' }, /jitter spreads a delay: give delay too/],
    ];
    for (const [entries, message] of bad) expect(() => parseBehaviour(entries, '--listen 8091'), JSON.stringify(entries)).toThrow(message);
  });

  it('tells faults from a banner alone', () => {
    expect(hasFaults(NO_BEHAVIOUR)).toBe(false);
    expect(hasFaults(parseBehaviour({ banner: 'b1' }, ''))).toBe(false);
    expect(hasFaults(parseBehaviour({ slice: '1' }, ''))).toBe(true);
    expect(hasFaults(parseBehaviour({ 'stall-after': '1s' }, ''))).toBe(true);
  });
});

describe('parseAfter and parseBytes', () => {
  it('reads a bare number as bytes and a number with a time unit as a duration', () => {
    expect(parseAfter('1000', 'x')).toEqual({ bytes: 1000 });
    expect(parseAfter('64KiB', 'x')).toEqual({ bytes: 65536 });
    expect(parseAfter('1.5s', 'x')).toEqual({ ms: 1500 });
    expect(parseAfter('250ms', 'x')).toEqual({ ms: 250 });
    expect(parseBytes('1MB', 'x')).toBe(1_000_000);
    expect(parseBytes('2 gib', 'x')).toBe(2 * 1024 ** 3);
    expect(() => parseBytes('1.5', 'x')).not.toThrow();
    expect(() => parseBytes('-1', 'x')).toThrow(/byte count/);
  });
});
