import { describe, expect, it } from 'vitest';
import { OptionError } from '../../../src/parse-option.js';
import { ipToNumber, numberToIp } from '../../../load/options/ip-number.js';
import { MAX_SOURCES, parseSources } from '../../../load/options/sources.js';

describe('--source', () => {
  it('reads addresses and inclusive ranges, IPv4 or IPv6, repeated or comma-separated, in order', () => {
    expect(parseSources([])).toEqual([]);
    expect(parseSources(['127.0.0.2'])).toEqual(['127.0.0.2']);
    expect(parseSources(['127.0.0.2-127.0.0.4', ' 127.0.1.1 , 127.0.0.255-127.0.1.0 '])).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.1.1', '127.0.0.255', '127.0.1.0']);
    expect(parseSources(['fd00::fffe-fd00::1:1'])).toEqual(['fd00::fffe', 'fd00::ffff', 'fd00::1:0', 'fd00::1:1']);
    expect(parseSources(['::1'])).toEqual(['::1']);
  });

  it('writes the addresses as Node writes them, so that a duplicate shows whatever its spelling', () => {
    expect(parseSources(['0:0:0:0:0:0:0:1', 'FD00:0:0:1::0:5'])).toEqual(['::1', 'fd00:0:0:1::5']);
    expect(() => parseSources(['::1', '0::0001'])).toThrow('--source ::1 is given twice');
    expect(() => parseSources(['127.0.0.2-127.0.0.9', '127.0.0.5'])).toThrow('--source 127.0.0.5 is given twice');
  });

  it('turns addresses into numbers and back, IPv4 inside IPv6 included', () => {
    expect(ipToNumber('127.0.0.2')).toEqual({ family: 4, value: 0x7f000002n });
    expect(ipToNumber('::ffff:127.0.0.1')).toEqual({ family: 6, value: 0xffff7f000001n });
    expect(numberToIp({ family: 6, value: 0xffff7f000001n })).toBe('::ffff:7f00:1');
    expect(numberToIp({ family: 6, value: 0n })).toBe('::');
    expect(numberToIp({ family: 6, value: (1n << 128n) - 1n })).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    // The longest run of zero groups is the one written `::`; a single zero group is not.
    expect(numberToIp(ipToNumber('1:0:0:2:0:0:0:3')!)).toBe('1:0:0:2::3');
    expect(numberToIp(ipToNumber('1:0:2:3:4:5:6:7')!)).toBe('1:0:2:3:4:5:6:7');
    expect([ipToNumber('fe80::1%eth0'), ipToNumber('localhost'), ipToNumber('127.0.0')]).toEqual([undefined, undefined, undefined]);
  });

  it('takes up to MAX_SOURCES addresses, and refuses a wider range before building it', () => {
    expect(parseSources(['10.0.0.0-10.0.255.255'])).toHaveLength(MAX_SOURCES);
    expect(() => parseSources(['10.0.0.0-10.0.255.255', '10.1.0.0'])).toThrow(/more than 65,536 addresses/);
    expect(() => parseSources(['fd00::-fd00::ffff:ffff:ffff'])).toThrow("--source names more than 65,536 addresses (fd00::-fd00::ffff:ffff:ffff alone is 281,474,976,710,656)");
  });

  it.each([
    ['localhost', "invalid source 'localhost': use an address (127.0.0.2, ::1) or a range of them (127.0.0.2-127.0.0.9)"],
    ['', "invalid source '': use an address"],
    ['127.0.0.2-', "invalid source '127.0.0.2-': use an address"],
    ['127.0.0.1-127.0.0.2-127.0.0.3', 'use an address'],
    ['fe80::1%eth0', 'use an address'],
    ['127.0.0.9-127.0.0.2', "invalid source '127.0.0.9-127.0.0.2': the range ends before it starts"],
    ['127.0.0.2-::1', "invalid source '127.0.0.2-::1': a range's ends must be of one family, both IPv4 or both IPv6"],
    ['0.0.0.0', '0.0.0.0 and :: are no particular address'],
    ['::', '0.0.0.0 and :: are no particular address'],
    ['127.0.0.2,::1', "--source mixes IPv4 (127.0.0.2) and IPv6 (::1): every connection's source must be of its target's family"],
  ])('refuses %j with an OptionError', (text, message) => {
    expect(() => parseSources([text])).toThrow(OptionError);
    expect(() => parseSources([text])).toThrow(message);
  });
});
