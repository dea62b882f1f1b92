#!/usr/bin/env node
/**
 * echo-load's entry point: options -> run (commands/run-command.ts) -> report, or `echo-load
 * merge` of earlier results (commands/merge-command.ts). The only file of the load client that
 * exits the process; the codes are in exit-codes.ts, and how a result becomes one in
 * commands/exit-policy.ts.
 */
import { availableParallelism } from 'node:os';
import { CommanderError } from 'commander';
import { OptionError } from '../src/parse-option.js';
import { createLogger } from '../src/log.js';
import { MergeInputError } from './merge/merge-input.js';
import { parseOptions, type LoadOptions, type RawOptions } from './options/options.js';
import { parseThresholds } from './verdict/threshold.js';
import { fail } from './commands/exit-policy.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { mergeCommand } from './commands/merge-command.js';
import { buildProgram, type Chosen } from './options/command.js';
import { runCommand } from './commands/run-command.js';

async function main(argv: string[]): Promise<number> {
  // Set by the command's action during parse (a cast: TypeScript cannot see the callback assign it).
  let chosen = { command: 'run' } as Chosen;
  const program = buildProgram((choice) => (chosen = choice));
  let options: LoadOptions;
  try {
    program.parse(argv);
    if (chosen.command === 'merge') return await mergeCommand(chosen.inputs, chosen.json, parseThresholds(chosen.thresholds));
    options = parseOptions(program.opts<RawOptions>(), availableParallelism());
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT_OK; // --help
      return fail(error.message.replace(/^error: /, ''), EXIT_USAGE);
    }
    if (error instanceof OptionError) return fail(error.message, EXIT_USAGE);
    if (error instanceof MergeInputError) return fail(`merge: ${error.message}`, EXIT_USAGE);
    throw error;
  }

  const log = createLogger({ name: 'echo-load', level: options.logLevel, destination: 2 });
  const controller = new AbortController();
  process.on('SIGINT', () => {
    // The first SIGINT stops the run and still reports; a second one means "now".
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    log.info('SIGINT: stopping');
    controller.abort();
  });
  return runCommand(options, log, controller.signal);
}

/**
 * Exits once stdout has taken everything written to it. `process.exit` alone does not wait:
 * stdout into a pipe is asynchronous here, and whatever the reader had not taken yet was lost.
 * A 145 KB `--json` result piped into a reader that waited 15 s arrived as its first 65,536
 * bytes (what the pipe holds), and the soak benchmark's 40-minute result was cut at 255,808. Writes complete in order,
 * so the empty write's callback runs after the result has gone.
 */
function exitWhenWritten(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

main(process.argv).then(
  exitWhenWritten,
  (error: unknown) => {
    // A bug, not a condition users can fix: one line, no stack trace unless asked for.
    process.stderr.write(`echo-load: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.ECHO_LOAD_DEBUG) process.stderr.write(`${String((error as Error).stack)}\n`);
    process.exit(EXIT_FAILED);
  },
);
