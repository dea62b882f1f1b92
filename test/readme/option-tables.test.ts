import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram as buildServerProgram } from '../../src/cli/server-options.js';
import { buildProgram as buildLoadProgram } from '../../load/options/command.js';
import { parseOptions, type RawOptions } from '../../load/options/options.js';
import { DEFAULT_TLS_CIPHERS } from '../../src/tls-profile.js';
import { COUNTS, NAMED_STATS, OPERATORS, parseThresholds, RATES, TIME_UNITS, TIMING_PREFIXES } from '../../load/verdict/threshold.js';
import { documentationTable, documentationText } from './readme.js';

/**
 * The option tables (docs/server.md's, docs/load.md's: wherever their headings are) are written
 * by hand: these tests hold every flag, environment variable and default in them to the
 * commander options the CLIs parse with, so that a table that drifts from the code fails here.
 */

/** The `code` spans of a table cell, in order. */
const spans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);

/** Options of the program itself (not commander's `--version`, not a subcommand's). */
const ownOptions = (program: Command) => program.options.filter((option) => option.long !== '--version');

/** What `--help` shows as an option's default; undefined when it has none. */
function shownDefault(option: Option): string | undefined {
  if (option.defaultValueDescription !== undefined) return option.defaultValueDescription;
  return option.defaultValue === undefined ? undefined : String(option.defaultValue);
}

describe("echo-server's option table", () => {
  const rows = documentationTable('echo-server options').map(([flags, env, defaults]) => ({ flags: spans(flags!), envs: spans(env!), defaults: defaults! }));
  const options = ownOptions(buildServerProgram());
  const byFlags = new Map(options.map((option) => [option.flags, option]));
  /** `--no-metrics` stands for the pair `--metrics [on|off]` / `--no-metrics`, one attribute. */
  const positive = (negated: Option) => options.find((option) => !option.negate && option.attributeName() === negated.attributeName());

  it('has a row for every option, and no option the CLI lacks', () => {
    const listed = rows.flatMap((row) => row.flags);
    for (const flags of listed) expect(byFlags.has(flags), `the table lists ${flags}, which echo-server does not have`).toBe(true);
    const covered = new Set(listed.map((flags) => byFlags.get(flags)).flatMap((option) => (option?.negate ? [option, positive(option)] : [option])));
    const missing = options.filter((option) => !covered.has(option)).map((option) => option.flags);
    expect(missing, 'options without a row in the table').toEqual([]);
  });

  it("names each option's environment variable", () => {
    for (const row of rows) {
      expect(row.envs, `${row.flags.join(', ')}: one variable per flag`).toHaveLength(row.flags.length);
      row.flags.forEach((flags, i) => {
        const option = byFlags.get(flags);
        if (option === undefined) return; // reported by the test above
        // A switch's row gives the value that turns it off: `ECHO_METRICS=0`.
        const env = option.negate ? `${positive(option)?.envVar}=0` : option.envVar;
        expect(row.envs[i], flags).toBe(env);
      });
    }
  });

  it("gives each option's default as --help shows it", () => {
    for (const row of rows) {
      // The first code span is the default; the rest of the cell explains it ("`0` (never)").
      // A name of another option (`--host`), or plain words ("every peer"), means no default of its own.
      const literal = spans(row.defaults)[0];
      const expected = literal === undefined || literal.startsWith('--') ? undefined : literal;
      for (const flags of row.flags) {
        const option = byFlags.get(flags);
        if (option === undefined) continue;
        if (option.negate) {
          expect(row.defaults, `${flags}: a switch that is on unless turned off`).toBe('');
          expect(positive(option)?.defaultValue, flags).toBe(true);
        } else {
          expect(shownDefault(option), flags).toBe(expected);
        }
      }
    }
  });
});

describe("echo-load's option table", () => {
  const rows = documentationTable('echo-load options').map(([flags, defaults]) => ({ longs: spans(flags!).map((flag) => flag.split(' ')[0]!), defaults: defaults! }));
  const options = ownOptions(buildLoadProgram(() => {}));
  const byLong = new Map(options.map((option) => [option.long!, option]));
  const CORES = 7;
  const defaults = parseOptions({}, CORES);

  /**
   * Defaults the table gives in words, and what each means, checked on what parseOptions
   * makes of the options left out.
   */
  const IN_WORDS: Record<string, { readme: string; holds: () => boolean }> = {
    '--target': { readme: '`--host`:`--port`', holds: () => parseOptions({ host: 'echo.example', port: '9000' }, CORES).targets.map((t) => t.name).join() === 'echo.example:9000' },
    '--source': { readme: 'the kernel chooses', holds: () => defaults.sources.length === 0 },
    '--workers': { readme: 'cores', holds: () => parseOptions({ clients: '1000' }, CORES).workers === CORES },
    '--rate': { readme: 'unlimited', holds: () => defaults.rate === 0 },
    '--connect-rate': { readme: 'all at once', holds: () => defaults.connectRate === 0 },
    '--tls-ca': { readme: "Node's CAs", holds: () => parseOptions({ tls: true }, CORES).tls?.ca === undefined },
    '--servername': {
      readme: '`--host`, if a name',
      holds: () => parseOptions({ tls: true, host: 'echo.example' }, CORES).tls?.servername === 'echo.example' && parseOptions({ tls: true, host: '127.0.0.1' }, CORES).tls?.servername === undefined,
    },
    // The profile's name, not a value --tls-ciphers takes: its cipher list, echo-server's default.
    '--tls-ciphers': { readme: '`intermediate`', holds: () => parseOptions({ tls: true }, CORES).tls?.ciphers === DEFAULT_TLS_CIPHERS },
  };

  it('has a row for every option, and no option the CLI lacks', () => {
    const listed = rows.flatMap((row) => row.longs);
    for (const long of listed) expect(byLong.has(long), `the table lists ${long}, which echo-load does not have`).toBe(true);
    expect(
      options.map((option) => option.long!).filter((long) => !listed.includes(long)),
      'options without a row in the table',
    ).toEqual([]);
  });

  it('reads ECHO_LOAD_<OPTION> for every option but --no-progress, as the documentation says', () => {
    for (const option of options) {
      const expected = option.long === '--no-progress' ? undefined : `ECHO_LOAD_${option.long!.slice(2).toUpperCase().replaceAll('-', '_')}`;
      expect(option.envVar, option.long).toBe(expected);
    }
  });

  it('applies the defaults the table gives', () => {
    for (const long of Object.keys(IN_WORDS)) expect(rows.some((row) => row.longs.includes(long)), `a row for ${long}`).toBe(true);
    for (const row of rows) {
      const values = row.defaults === '' ? [] : row.defaults.split(', ').map((text) => text.replaceAll('`', ''));
      if (row.longs.length > 1 && values.length > 0) expect(values, row.longs.join(', ')).toHaveLength(row.longs.length);
      row.longs.forEach((long, i) => {
        const inWords = IN_WORDS[long];
        if (inWords !== undefined) {
          expect(row.defaults, long).toBe(inWords.readme);
          expect(inWords.holds(), `${long}: ${inWords.readme}`).toBe(true);
          return;
        }
        const option = byLong.get(long);
        if (option === undefined || values.length === 0) return;
        // Giving the table's default must change nothing (the TLS options, given with --tls).
        const base: RawOptions = long.startsWith('--tls-') ? { tls: true } : {};
        const given = parseOptions({ ...base, [option.attributeName()]: values[i] }, CORES);
        expect(given, `${long} ${values[i]}`).toEqual(parseOptions(base, CORES));
      });
    }
  });
});

describe("docs/load.md's threshold grammar", () => {
  // The section from its heading to the next one.
  const text = documentationText('docs/load.md');
  const section = text.slice(text.indexOf('## Thresholds in CI'), text.indexOf('\n## ', text.indexOf('## Thresholds in CI') + 1));
  const spansOf = new Set([...section.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));

  it('names every metric, operator and unit the parser takes (the lists the help is made from)', () => {
    const names = [...NAMED_STATS, ...COUNTS, ...RATES, ...OPERATORS, ...Object.keys(TIME_UNITS)];
    expect(names.filter((name) => !spansOf.has(name)), 'in the grammar, not in docs/load.md').toEqual([]);
    const prefixes = `[${Object.keys(TIMING_PREFIXES).map((prefix) => `${prefix}_`).join('|')}]`;
    expect(spansOf.has(prefixes), prefixes).toBe(true);
  });

  it('shows only thresholds that parse', () => {
    const shown = [...section.matchAll(/--threshold '([^']+)'/g)].map((match) => match[1]!);
    expect(shown.length).toBeGreaterThan(0);
    for (const expression of shown) expect(() => parseThresholds([expression]), expression).not.toThrow();
  });
});
