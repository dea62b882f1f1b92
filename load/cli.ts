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
import { Command, CommanderError, Option } from 'commander';
import { formatAddress } from '../src/address.js';
import { OptionError } from '../src/parse-option.js';
import { DEFAULT_TLS_CIPHERS_NAME, DEFAULT_TLS_MIN_VERSION, TLS_VERSIONS } from '../src/tls-profile.js';
import { createLogger } from '../src/log.js';
import { parseOptions, DEFAULTS, type LoadOptions, type RawOptions } from './options.js';
import { ProgressLine } from './progress.js';
import { mergeResults } from './merge.js';
import { MergeInputError, parseResults } from './merge-input.js';
import { formatReport } from './report.js';
import type { LoadResult } from './result.js';
import { LoadError, runLoad } from './runner.js';
import { checkThresholds, describeCrossed } from './threshold-check.js';
import { parseThresholds, type Threshold } from './threshold.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** A `--threshold` crossed: k6 exits 99 for it too, so CI scripts written for k6 read it alike. */
const EXIT_THRESHOLD = 99;
const EXIT_INTERRUPTED = 130;

const EXIT_CODES_HELP =
  '\nExit codes: 0 every connection held and every echo exact and in time; 1 errors (refused, handshake failures, resets, timeouts, mismatches);\n' +
  '2 bad options (or bad merge input); 99 a --threshold crossed; 130 interrupted (SIGINT), after printing the report of what was measured.';

const THRESHOLD_HELP =
  'fail (exit 99) unless this holds, e.g. p99<20ms, errors==0, rate>10000, first_echo_p99<1s; repeatable, or comma-separated ' +
  '(metrics: [latency_|connect_|handshake_|first_echo_]p<N>|avg|min|max|stddev, errors, refused, resets, timeouts, mismatches, ' +
  'handshake_failures, messages, sent, bytes, connected, held, rate, throughput; operators < <= > >= ==; units us, ms (default), s)';

/** Commander's way to repeat an option: each value is appended. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** What the command line asked for: a run (the root command) or a merge. */
type Chosen = { command: 'run' } | { command: 'merge'; inputs: string[]; json: boolean; thresholds: string[] };

function buildProgram(choose: (chosen: Chosen) => void): Command {
  const option = (flags: string, description: string, env: string) => new Option(flags, description).env(`ECHO_LOAD_${env}`);
  const program = new Command()
    .name('echo-load')
    .description('Drive ping-pong echo traffic through many TCP connections, check every echoed byte, report throughput and latency.')
    .addOption(option('--host <host>', `server host, and the host of a --target without one (default: ${DEFAULTS.host})`, 'HOST'))
    .addOption(option('--port <port>', `server port, and the port of a --target without one (default: ${DEFAULTS.port})`, 'PORT'))
    .addOption(
      option('--target <host:port>', 'a server to drive, instead of --host:--port; repeatable (or comma-separated): connections go round-robin, figures per target', 'TARGET').argParser(collect),
    )
    .addOption(option('--clients <n>', `connections to open and hold (default: ${DEFAULTS.clients})`, 'CLIENTS'))
    .addOption(option('--workers <n>', 'worker threads (default: number of cores, at most --clients)', 'WORKERS'))
    .addOption(option('--duration <time>', `measured time, e.g. 500ms, 5s, 1m (default: ${DEFAULTS.duration})`, 'DURATION'))
    .addOption(
      option('--messages <n>', 'run until N messages in total (over all connections, like autocannon --amount) are echoed; each connection sends an even share', 'MESSAGES'),
    )
    .addOption(option('--size <bytes>', `bytes per message, lower-case letters (default: ${DEFAULTS.size})`, 'SIZE'))
    .addOption(option('--payload <text>', 'send this text as each message instead of --size letters', 'PAYLOAD'))
    .addOption(option('--pipeline <n>', `messages in flight per connection (default: ${DEFAULTS.pipeline})`, 'PIPELINE'))
    .addOption(option('--rate <n>', 'messages per second per connection; latency then counts from the intended send time (default: unlimited)', 'RATE'))
    .addOption(option('--connect-rate <n>', 'connections opened per second (default: all at once)', 'CONNECT_RATE'))
    .addOption(option('--connect-timeout <time>', `give up connecting after this; 0 = never (default: ${DEFAULTS.connectTimeout})`, 'CONNECT_TIMEOUT'))
    .addOption(option('--timeout <time>', `an echo not back within this is a timeout; 0 = never (default: ${DEFAULTS.timeout})`, 'TIMEOUT'))
    .addOption(option('--warmup <time>', 'traffic before measuring, excluded from the traffic figures and the echo latency (default: 0)', 'WARMUP'))
    .addOption(option('--tls', 'connect over TLS (the TLS handshake is timed apart)', 'TLS'))
    .addOption(option('--tls-ca <file>', "CA certificate(s), PEM, to verify the server's certificate with (default: Node's built-in CAs)", 'TLS_CA'))
    .addOption(option('--insecure', "with --tls: do not verify the server's certificate", 'INSECURE'))
    .addOption(option('--servername <name>', 'with --tls: SNI, and the name the certificate must match (default: --host, if a name)', 'SERVERNAME'))
    .addOption(option('--tls-cert <file>', 'with --tls: a client certificate, PEM (mutual TLS; with --tls-key)', 'TLS_CERT'))
    .addOption(option('--tls-key <file>', "with --tls: the client certificate's key, PEM", 'TLS_KEY'))
    .addOption(option('--tls-min-version <version>', `with --tls: the lowest TLS version to offer: ${TLS_VERSIONS.join(', ')} (default: ${DEFAULT_TLS_MIN_VERSION})`, 'TLS_MIN_VERSION'))
    .addOption(
      option('--tls-ciphers <list>', `with --tls: OpenSSL cipher list to offer, TLS_* names for TLS 1.3 (default: ${DEFAULT_TLS_CIPHERS_NAME}, echo-server's)`, 'TLS_CIPHERS'),
    )
    .addOption(
      option('--proxy-protocol <version>', 'send a PROXY protocol header (v1 or v2) first on each connection, from a made-up client address of its own', 'PROXY_PROTOCOL'),
    )
    .addOption(option('--json', 'print one autocannon-shaped JSON object instead of the report (with the encoded histograms, for echo-load merge)', 'JSON'))
    .addOption(option('--json-file <file>', 'also write that JSON object to this file, whatever stdout shows', 'JSON_FILE'))
    .addOption(option('--threshold <expr>', THRESHOLD_HELP, 'THRESHOLD').argParser(collect))
    .option('--no-progress', 'no live progress on stderr (shown only on a terminal anyway)')
    .addOption(option('--log-level <level>', `pino log level on stderr (default: ${DEFAULTS.logLevel})`, 'LOG_LEVEL'))
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    // The run's options are read before `merge` only, so that `merge --json` is merge's own.
    .enablePositionalOptions()
    .action(() => choose({ command: 'run' }));
  // Created after exitOverride and configureOutput, so that it inherits both.
  program
    .command('merge')
    .description('Merge the --json results of several echo-load runs (processes, pods, machines) into one report, exactly, from their histograms.')
    .argument('<inputs...>', "result files, or - for standard input: JSON lines as 'kubectl logs' gives them, log lines skipped and counted")
    .addOption(option('--json', 'print one JSON result instead of the report', 'JSON'))
    .addOption(option('--threshold <expr>', THRESHOLD_HELP, 'THRESHOLD').argParser(collect))
    .addHelpText('after', EXIT_CODES_HELP)
    .action((inputs: string[], opts: { json?: boolean; threshold?: string[] }) =>
      choose({ command: 'merge', inputs, json: opts.json === true, thresholds: opts.threshold ?? [] }),
    );
  return program;
}

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
