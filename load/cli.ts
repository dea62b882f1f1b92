#!/usr/bin/env node
/**
 * echo-load's entry point: options -> run -> report. The only file of the load client that
 * exits the process. Exit codes: 0 all held and exact, 1 anything went wrong, 2 bad options,
 * 130 stopped by SIGINT (after printing what was measured).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { formatAddress } from '../src/address.js';
import { OptionError } from '../src/parse-option.js';
import { createLogger } from '../src/log.js';
import { parseOptions, DEFAULTS, type LoadOptions, type RawOptions } from './options.js';
import { ProgressLine } from './progress.js';
import { formatReport } from './report.js';
import type { LoadResult } from './result.js';
import { LoadError, runLoad } from './runner.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function buildProgram(): Command {
  const option = (flags: string, description: string, env: string) => new Option(flags, description).env(`ECHO_LOAD_${env}`);
  return new Command()
    .name('echo-load')
    .description('Drive ping-pong echo traffic through many TCP connections, check every echoed byte, report throughput and latency.')
    .addOption(option('--host <host>', `server host (default: ${DEFAULTS.host})`, 'HOST'))
    .addOption(option('--port <port>', `server port (default: ${DEFAULTS.port})`, 'PORT'))
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
    .addOption(
      option('--proxy-protocol <version>', 'send a PROXY protocol header (v1 or v2) first on each connection, from a made-up client address of its own', 'PROXY_PROTOCOL'),
    )
    .addOption(option('--json', 'print one autocannon-shaped JSON object instead of the report', 'JSON'))
    .addOption(option('--json-file <file>', 'also write that JSON object to this file, whatever stdout shows', 'JSON_FILE'))
    .option('--no-progress', 'no live progress on stderr (shown only on a terminal anyway)')
    .addOption(option('--log-level <level>', `pino log level on stderr (default: ${DEFAULTS.logLevel})`, 'LOG_LEVEL'))
    .addHelpText(
      'after',
      '\nExit codes: 0 every connection held and every echo exact and in time; 1 errors (refused, handshake failures, resets, timeouts, mismatches);\n2 bad options; 130 interrupted (SIGINT), after printing the report of what was measured.',
    )
    .exitOverride()
    .configureOutput({ outputError: () => {} });
}

function fail(message: string, code: number): number {
  process.stderr.write(`echo-load: ${message}\n`);
  return code;
}

/** The one line printed instead of a report when not a single connection could be made. */
function connectFailure(options: LoadOptions, result: LoadResult): string {
  const where = `cannot connect to ${formatAddress(options.host, options.port)}`;
  if (result.refused === result.connections) return `${where}: connection refused (is the server running?)`;
  if (result.timeouts === result.connections) return `${where}: connect timeout after ${options.connectTimeoutMs} ms`;
  if (result.handshakeFailures === result.connections) return `TLS handshake with ${formatAddress(options.host, options.port)} failed: ${result.failures.handshake}`;
  const first = Object.values(result.failures)[0] ?? 'unknown error';
  return `${where}: ${first}`;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let options: LoadOptions;
  try {
    program.parse(argv);
    options = parseOptions(program.opts<RawOptions>(), availableParallelism());
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT_OK; // --help
      return fail(error.message.replace(/^error: /, ''), EXIT_USAGE);
    }
    if (error instanceof OptionError) return fail(error.message, EXIT_USAGE);
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
  if (options.jsonFile !== undefined) {
    // The same result as stdout's, so a person and a tool read the figures of one run.
    try {
      writeFileSync(options.jsonFile, `${JSON.stringify(result)}\n`);
    } catch (error) {
      return fail(`cannot write --json-file ${options.jsonFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT_FAILED);
    }
  }
  if (result.connected === 0 && result.errors > 0 && !result.interrupted) return fail(connectFailure(options, result), EXIT_FAILED);

  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatReport(result));
  if (result.interrupted) return EXIT_INTERRUPTED;
  return result.errors === 0 && result.held === result.connections ? EXIT_OK : EXIT_FAILED;
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
