import { OptionError } from '../../src/parse-option.js';
import { ipToNumber, numberToIp, type IpNumber } from './ip-number.js';

/**
 * The most source addresses one run may name. Each address has its own ephemeral ports (about
 * 28,000 on Linux by default), so 36 of them already cover echo-load's 1,000,000 clients; the
 * bound is a /16 (65,536 addresses), the widest block a machine is likely to have routed to
 * itself for spreading a balancer's source hash, and it keeps a mistyped range
 * (`10.0.0.1-10.9.0.1`) from becoming millions of strings.
 */
export const MAX_SOURCES = 65_536;

const USAGE = 'use an address (127.0.0.2, ::1) or a range of them (127.0.0.2-127.0.0.9)';

/**
 * Parses the `--source` values into the local addresses connections are made from, in order:
 * connection `i` connects from `sources[i % sources.length]`. Each value is an address or a
 * range `first-last` (inclusive, both ends of one family), IPv4 or IPv6, and may hold several
 * of them separated by commas. The addresses are written as Node writes them (`::1`, not
 * `0::0001`). All of one family (a connection's source must be of its target's family); none
 * twice, counting overlapping ranges; none unspecified (0.0.0.0, ::); at most MAX_SOURCES in
 * all. Anything else is an `OptionError`. No values: an empty list, the kernel chooses.
 *
 * @example
 *   parseSources(['127.0.0.2-127.0.0.4,::1']) // OptionError: --source mixes IPv4 (127.0.0.2) and IPv6 (::1) ...
 *   parseSources(['127.0.0.2-127.0.0.4']) // ['127.0.0.2', '127.0.0.3', '127.0.0.4']
 */
export function parseSources(values: readonly string[]): string[] {
  const texts = values.flatMap((value) => value.split(',')).map((text) => text.trim());
  const sources: string[] = [];
  const seen = new Set<bigint>();
  let family: 4 | 6 | undefined;
  for (const text of texts) {
    const [first, last] = parseItem(text);
    family ??= first.family;
    if (first.family !== family) {
      const other = first.family === 4 ? 'IPv6' : 'IPv4';
      throw new OptionError(`--source mixes ${other} (${sources[0]}) and IPv${first.family} (${text}): every connection's source must be of its target's family`);
    }
    const count = last.value - first.value + 1n;
    if (BigInt(sources.length) + count > BigInt(MAX_SOURCES)) {
      throw new OptionError(`--source names more than ${MAX_SOURCES.toLocaleString('en-US')} addresses (${text} alone is ${count.toLocaleString('en-US')})`);
    }
    for (let value = first.value; value <= last.value; value++) {
      const address = numberToIp({ family, value });
      if (seen.has(value)) throw new OptionError(`--source ${address} is given twice`);
      seen.add(value);
      sources.push(address);
    }
  }
  return sources;
}

/** One value: an address, as a range of one, or a range. */
function parseItem(text: string): [IpNumber, IpNumber] {
  const bad = (why = USAGE) => new OptionError(`invalid source '${text}': ${why}`);
  const ends = text.split('-').map((end) => ipToNumber(end.trim()));
  if (ends.length > 2) throw bad();
  const [first, last] = ends.length === 1 ? [ends[0], ends[0]] : ends;
  if (first === undefined || last === undefined) throw bad();
  if (first.family !== last.family) throw bad("a range's ends must be of one family, both IPv4 or both IPv6");
  if (first.value > last.value) throw bad('the range ends before it starts');
  if (first.value === 0n) throw bad('0.0.0.0 and :: are no particular address; without --source the kernel chooses one');
  return [first, last];
}
