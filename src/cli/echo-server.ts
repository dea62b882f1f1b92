#!/usr/bin/env node
/**
 * echo-server: options -> a running server -> a clean exit. The only place that exits the
 * process; everything below returns or throws. One process runs the server (serve.ts);
 * `--workers n` runs the primary (primary.ts), which starts this same file n times as its
 * workers (worker.ts).
 */
import { CommanderError } from 'commander';
import { createLogger } from '../log.js';
import { OptionError } from '../parse-option.js';
import { supportsReusePort } from '../reuse-port.js';
import { setFailureReporter } from '../tasks/index.js';
import { EXIT_BAD_OPTIONS, EXIT_OK, EXIT_START_FAILED, ExitError } from './exit.js';
import { runPrimary } from './primary.js';
import { serve } from './serve.js';
import { parseServerOptions, type CliOptions } from './server-options.js';
import { workerNumber } from './worker.js';

function fail(code: number, message: string): never {
  process.stderr.write(`echo-server: ${message}\n`);
  process.exit(code);
}

function parseOptions(argv: string[]): CliOptions {
  try {
    return parseServerOptions(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      process.exit(error.exitCode === 0 ? EXIT_OK : EXIT_BAD_OPTIONS);
    }
    if (error instanceof OptionError) fail(EXIT_BAD_OPTIONS, error.message);
    throw error;
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv);
  const worker = workerNumber();
  const log = createLogger({ name: 'echo-server', level: options.logLevel, ...(worker === undefined ? {} : { base: { worker } }) });
  // Every task of this process, the server's or the primary's, reports its failure here.
  setFailureReporter((task, error) => log.error({ task: task.describe(), err: error }, 'task failed'));
  if (options.workers <= 1 || worker !== undefined) return serve(options, log, worker);
  if (!supportsReusePort()) {
    fail(EXIT_BAD_OPTIONS, `--workers ${options.workers} needs SO_REUSEPORT: Linux and Node.js 22.12 or later (this is ${process.platform}, ${process.version})`);
  }
  return runPrimary(options, log);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ExitError) fail(error.code, error.message);
    // Anything unexpected still gets one line, not a stack trace.
    fail(EXIT_START_FAILED, error instanceof Error ? error.message : String(error));
  },
);
