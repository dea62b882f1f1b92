import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseOptions, type LoadOptions, type RawOptions } from '../../load/options/options.js';
import { LOAD_CLI } from '../load/support/cli.js';

/** An option of echo-load's command line, as its `--help` lists it. */
interface Flag {
  /** commander's key for it: `--connect-rate` is `connectRate`, `--no-progress` is `progress`. */
  key: string;
  takesValue: boolean;
  negated: boolean;
}

let flags: Map<string, Flag> | undefined;

/**
 * The options of the real echo-load, read from the built CLI's `--help` (`npm run build`
 * first, as for every test that runs echo-load): what the installed command says is what a
 * manifest's arguments must match.
 */
function loadFlags(): Map<string, Flag> {
  if (flags !== undefined) return flags;
  if (!existsSync(LOAD_CLI)) throw new Error(`${LOAD_CLI} is missing: run npm run build first`);
  const help = execFileSync(process.execPath, [LOAD_CLI, '--help'], { encoding: 'utf8', timeout: 20_000 });
  flags = new Map();
  for (const match of help.matchAll(/^ {2}(?:-\w, )?--([a-z][\w-]*)( <[^>]+>)?/gm)) {
    const name = match[1]!;
    const negated = name.startsWith('no-');
    const key = (negated ? name.slice(3) : name).replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
    flags.set(`--${name}`, { key, takesValue: match[2] !== undefined, negated });
  }
  if (!flags.has('--host') || !flags.has('--json')) throw new Error(`no options found in echo-load --help:\n${help}`);
  return flags;
}

/**
 * What echo-load makes of a command line (a container's `args` after `echo-load`): each
 * token is matched against the real CLI's own flags (an unknown flag, or a flag without its
 * value, throws, as the CLI refuses it with exit 2), then echo-load's own `parseOptions`
 * checks the values and applies the defaults, as the CLI does. `cores` stands for the
 * machine's core count, the default of `--workers`.
 *
 * @example
 *   expect(loadOptionsFrom(['--host', 'echo-server', '--json'], 2).json).toBe(true);
 */
export function loadOptionsFrom(args: readonly string[], cores: number): LoadOptions {
  const known = loadFlags();
  const raw: Record<string, string | string[] | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = known.get(args[i]!);
    if (flag === undefined) throw new Error(`echo-load has no option '${args[i]}'`);
    if (flag.key === 'help') throw new Error('--help prints the help and runs nothing');
    if (!flag.takesValue) {
      raw[flag.key] = !flag.negated;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new Error(`echo-load option '${args[i - 1]}' needs a value`);
    // --target and --threshold repeat (the CLI collects them); the others take the last value.
    const previous = raw[flag.key];
    raw[flag.key] = flag.key === 'target' || flag.key === 'threshold' ? [...((previous as string[] | undefined) ?? []), value] : value;
  }
  return parseOptions(raw as RawOptions, cores);
}
