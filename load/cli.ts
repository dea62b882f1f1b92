#!/usr/bin/env node
/**
 * echo-load's entry point: options -> run -> report, or `echo-load merge` of earlier results.
 * The only file of the load client that exits the process. Exit codes: 0 all held and exact,
 * 1 anything went wrong, 2 bad options or bad merge input, 99 a `--threshold` crossed (k6's
 * code for it), 130 stopped by SIGINT (after printing what was measured).
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { CommanderError } from 'commander';
import { formatAddress } from '../src/address.js';
import { OptionError } from '../src/parse-option.js';
import { createLogger } from '../src/log.js';
import { buildProgram, type Chosen } from './options/command.js';
import { parseOptions, type LoadOptions, type RawOptions } from './options/options.js';
import { ProgressLine } from './run/progress.js';
import { mergeResults } from './merge/merge.js';
import { MergeInputError, parseResults } from './merge/merge-input.js';
import { formatReport } from './report/report.js';
import type { LoadResult } from './result/result.js';
import { LoadError, runLoad } from './run/runner.js';
import { checkThresholds, describeCrossed } from './verdict/threshold-check.js';
import { parseThresholds, type Threshold } from './verdict/threshold.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** A `--threshold` crossed: k6 exits 99 for it too, so CI scripts written for k6 read it alike. */
const EXIT_THRESHOLD = 99;
const EXIT_INTERRUPTED = 130;

function fail(message: string, code: number): number {
  process.stderr.write(`echo-load: ${message}\n`);
  return code;
}

/** The one line printed instead of a report when not a single connection could be made. */
function connectFailure(options: LoadOptions, result: LoadResult): string {
  const one = options.targets.length === 1;
  const where = one ? `cannot connect to ${formatAddress(options.host, options.port)}` : `cannot connect to any of the ${options.targets.length} targets`;
  if (result.refused === result.connections) return `${where}: connection refused (is the server running?)`;
  if (result.timeouts === result.connections) return `${where}: connect timeout after ${options.connectTimeoutMs} ms`;
  if (result.handshakeFailures === result.connections) {
    return `TLS handshake with ${one ? formatAddress(options.host, options.port) : `any of the ${options.targets.length} targets`} failed: ${result.failures.handshake}`;
  }
  const first = Object.values(result.failures)[0] ?? 'unknown error';
  return `${where}: ${first}`;
}

/**
 * Checks the thresholds into the result (the JSON carries them), says on stderr which crossed
 * and by how much, and gives the exit code. A threshold on `errors` is the user's tolerance
 * for errors, and replaces the default rule that any error fails the run.
 */
function judge(result: LoadResult, thresholds: readonly Threshold[]): number {
  result.thresholds = checkThresholds(result, thresholds);
  const crossed = result.thresholds.filter((outcome) => !outcome.passed);
  for (const outcome of crossed) process.stderr.write(`echo-load: ${describeCrossed(outcome)}\n`);
  if (crossed.length > 0) return EXIT_THRESHOLD;
  const errorsJudged = thresholds.some((threshold) => threshold.metric === 'errors');
  // A connection is held, failed, or was never set up before the end: the last always fails.
  if (result.held + result.errors < result.connections) return EXIT_FAILED;
  return result.errors === 0 || errorsJudged ? EXIT_OK : EXIT_FAILED;
}

function print(result: LoadResult, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : formatReport(result));
}

async function main(argv: string[]): Promise<number> {
  // Set by the command's action during parse (a cast: TypeScript cannot see the callback assign it).
  let chosen = { command: 'run' } as Chosen;
  const program = buildProgram((choice) => (chosen = choice));
  let options: LoadOptions;
  try {
    program.parse(argv);
    if (chosen.command === 'merge') return await merge(chosen.inputs, chosen.json, parseThresholds(chosen.thresholds));
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
  const progress = options.progress && process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;

  let result: LoadResult;
  try {
    // The progress line is erased before anything else is printed, the report or an error line.
    const run = runLoad(options, { log, signal: controller.signal, onTick: progress && ((tick) => progress.show(tick)) });
    result = await run.finally(() => progress?.clear());
  } catch (error) {
    if (error instanceof LoadError) return fail(error.message, EXIT_FAILED);
    throw error;
  }
  // Nothing connected: one line, no thresholds judged.
  const unreachable = result.connected === 0 && result.errors > 0 && !result.interrupted;
  const code = unreachable ? EXIT_FAILED : judge(result, options.thresholds);
  if (options.jsonFile !== undefined) {
    // The same result as stdout's (thresholds judged), so a person and a tool read the figures of one run.
    try {
      writeFileSync(options.jsonFile, `${JSON.stringify(result)}\n`);
    } catch (error) {
      return fail(`cannot write --json-file ${options.jsonFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT_FAILED);
    }
  }
  if (unreachable) return fail(connectFailure(options, result), EXIT_FAILED);
  print(result, options.json);
  return result.interrupted ? EXIT_INTERRUPTED : code;
}

/**
 * `echo-load merge`: reads every input (`-` is standard input), says how many lines were not
 * results, merges the results and judges the merge as a run is judged. Bad input throws a
 * `MergeInputError`.
 */
async function merge(inputs: readonly string[], json: boolean, thresholds: readonly Threshold[]): Promise<number> {
  if (inputs.filter((input) => input === '-').length > 1) throw new MergeInputError("'-' (standard input) can be given once");
  const results: LoadResult[] = [];
  let skipped = 0;
  let firstSkipped: string | undefined;
  for (const input of inputs) {
    const parsed = parseResults(await readInput(input), input);
    results.push(...parsed.results);
    skipped += parsed.skipped;
    firstSkipped ??= parsed.firstSkipped;
  }
  const lines = `${skipped} line${skipped === 1 ? '' : 's'}`;
  if (results.length === 0) {
    throw new MergeInputError(`no echo-load result in ${inputs.join(', ')}${skipped === 0 ? ' (empty)' : `: ${lines}, none a result (the first: ${firstSkipped})`}`);
  }
  if (skipped > 0) {
    const were = skipped === 1 ? 'was' : 'were';
    process.stderr.write(`echo-load merge: skipped ${lines} that ${were} not results (the first: ${firstSkipped}); merged ${results.length} results\n`);
  }
  const merged = mergeResults(results);
  for (const warning of merged.warnings) process.stderr.write(`echo-load merge: ${warning}\n`);
  const code = judge(merged.result, thresholds);
  print(merged.result, json);
  return code;
}

async function readInput(input: string): Promise<string> {
  if (input === '-') {
    let text = '';
    for await (const chunk of process.stdin.setEncoding('utf8')) text += chunk as string;
    return text;
  }
  try {
    return await readFile(input, 'utf8');
  } catch (error) {
    throw new MergeInputError(`cannot read '${input}' (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A bug, not a condition users can fix: one line, no stack trace unless asked for.
    process.stderr.write(`echo-load: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.ECHO_LOAD_DEBUG) process.stderr.write(`${String((error as Error).stack)}\n`);
    process.exit(EXIT_FAILED);
  },
);
