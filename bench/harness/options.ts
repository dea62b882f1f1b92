/**
 * A benchmark's command line: its options, `--help`, and a bad value as one line and exit code 2.
 */
import { parseArgs } from 'node:util';
import { OptionError, parseDuration, parseInteger } from '../../src/parse-option.js';

/** One command-line option of a benchmark; all are `--name value` but the flags. */
export type OptionSpec = { help: string; default?: string; flag?: false } | { help: string; flag: true };
type Values<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends { flag: true } ? boolean : S[K] extends { default: string } ? string : string | undefined;
};

/**
 * Reads the benchmark's options from the command line and turns them into its settings with
 * `read`. `--help` prints `usage` and the options and exits 0; an unknown option or a bad value
 * (an `OptionError` from `read`, such as `count` throws) prints one line and exits 2.
 *
 * @example
 *   const { rounds } = readOptions('npm run bench -- [options]', { rounds: { help: 'rounds', default: '3' } },
 *     (values) => ({ rounds: count(values.rounds, 'rounds') }));
 */
export function readOptions<S extends Record<string, OptionSpec>, R>(usage: string, spec: S, read: (values: Values<S>) => R): R {
  const options: Record<string, { type: 'string' | 'boolean'; default?: string }> = { help: { type: 'boolean' } };
  for (const [name, option] of Object.entries(spec)) {
    options[name] = option.flag ? { type: 'boolean' } : { type: 'string', ...(option.default === undefined ? {} : { default: option.default }) };
  }
  try {
    const { values } = parseArgs({ options, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> };
    if (values.help) {
      const lines = Object.entries(spec).map(([name, option]) => {
        const flag = option.flag ? `--${name}` : `--${name} <value>`;
        return `  ${flag.padEnd(24)} ${option.help}${!option.flag && option.default !== undefined ? ` (default: ${option.default})` : ''}`;
      });
      process.stdout.write(`usage: ${usage}\n${lines.join('\n')}\n`);
      process.exit(0);
    }
    for (const [name, option] of Object.entries(spec)) if (option.flag) values[name] ??= false;
    return read(values as Values<S>);
  } catch (error) {
    // parseArgs throws TypeErrors with a code (ERR_PARSE_ARGS_UNKNOWN_OPTION ...): bad usage too.
    const code = (error as { code?: unknown }).code;
    if (!(error instanceof OptionError) && !(typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) throw error;
    process.stderr.write(`${(error as Error).message}\nusage: ${usage} (--help lists the options)\n`);
    process.exit(2);
  }
}

/** A whole number of at least `min` from an option's text. */
export const count = (text: string, name: string, min = 1) => parseInteger(text, name, min);

/** Milliseconds from an option's duration text (`500ms`, `5s`, `1m`). */
export const duration = (text: string, name: string) => parseDuration(text, name);
