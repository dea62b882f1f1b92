/**
 * echo-load's command line: every option of a run and of `echo-load merge`, with its
 * environment variable (`ECHO_LOAD_*`) and the default its help shows. Parsing only: the
 * values are checked and typed by `parseOptions` (options.ts), and commands/ acts on them.
 */
import { Command, Option } from 'commander';
import { DEFAULT_TLS_CIPHERS_NAME, DEFAULT_TLS_MIN_VERSION, TLS_VERSIONS } from '../../src/tls-profile.js';
import { EXIT_CODES_HELP, EXIT_THRESHOLD } from '../exit-codes.js';
import { THRESHOLD_EXAMPLES, THRESHOLD_SYNTAX } from '../verdict/threshold.js';
import { DEFAULTS } from './options.js';
import { ARRIVAL_PROCESSES } from './shape.js';

const THRESHOLD_HELP = `fail (exit ${EXIT_THRESHOLD}) unless this holds, e.g. ${THRESHOLD_EXAMPLES}; repeatable, or comma-separated (${THRESHOLD_SYNTAX})`;

const SOURCE_HELP =
  "a local address to connect from (127.0.0.2) or a range (127.0.0.2-127.0.0.9), IPv4 or IPv6; repeatable (or comma-separated): connections go round-robin, so a target takes more than one address's ephemeral ports (default: the kernel chooses)";

/** An option that also reads its environment variable, `ECHO_LOAD_<env>`. */
function option(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(`ECHO_LOAD_${env}`);
}

/** Commander's way to repeat an option: each value is appended. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** What the command line asked for: a run (the root command) or a merge. */
export type Chosen = { command: 'run' } | { command: 'merge'; inputs: string[]; json: boolean; thresholds: string[] };

/**
 * The commander program; `choose` learns during `parse` whether a run or a merge was asked
 * for. `exitOverride` makes it throw instead of exiting, and it prints no errors of its own.
 *
 * @example
 *   const program = buildProgram((chosen) => console.log(chosen.command));
 *   program.parse(['node', 'echo-load', '--clients', '5']); // run
 *   program.opts().clients // '5'
 */
export function buildProgram(choose: (chosen: Chosen) => void): Command {
  const program = new Command()
    .name('echo-load')
    .description('Drive ping-pong echo traffic through many TCP connections, check every echoed byte, report throughput and latency.')
    .addOption(option('--host <host>', `server host, and the host of a --target without one (default: ${DEFAULTS.host})`, 'HOST'))
    .addOption(option('--port <port>', `server port, and the port of a --target without one (default: ${DEFAULTS.port})`, 'PORT'))
    .addOption(
      option('--target <host:port>', 'a server to drive, instead of --host:--port; repeatable (or comma-separated): connections go round-robin, figures per target', 'TARGET').argParser(collect),
    )
    .addOption(option('--source <address|range>', SOURCE_HELP, 'SOURCE').argParser(collect))
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
    .addOption(
      option(
        '--stages <list>',
        'ramp the held connections: duration:clients,... each stage goes linearly from the previous target (0 at first) to its own, e.g. 30s:1000,1m:1000,10s:0; sets --clients and the duration',
        'STAGES',
      ),
    )
    .addOption(
      option('--connection-lifetime <n|time>', 'each connection closes politely after n echoes (100) or that long from connecting (5s), and a new one takes its place', 'CONNECTION_LIFETIME'),
    )
    .addOption(
      option('--arrival-rate <n>', 'open model: new connections per second over the run, whatever the server does, each living --connection-lifetime', 'ARRIVAL_RATE'),
    )
    .addOption(option('--arrivals <process>', `with --arrival-rate: ${ARRIVAL_PROCESSES.join(' (evenly spaced) or ')} (exponential gaps) (default: uniform)`, 'ARRIVALS'))
    .addOption(option('--idle <n>', 'n more connections held open and silent beside the active ones; each must still be open, having received nothing, at the end', 'IDLE'))
    .addOption(option('--reconnect', 'a connection the server side breaks counts as disrupted, and connects again after a short backoff', 'RECONNECT'))
    .addOption(option('--connect-timeout <time>', `give up connecting after this; 0 = never (default: ${DEFAULTS.connectTimeout})`, 'CONNECT_TIMEOUT'))
    .addOption(option('--timeout <time>', `an echo not back within this is a timeout; 0 = never (default: ${DEFAULTS.timeout})`, 'TIMEOUT'))
    .addOption(option('--warmup <time>', 'traffic before measuring, excluded from the traffic figures and the echo latency (default: 0)', 'WARMUP'))
    .addOption(option('--interval <time>', `also record the run in intervals of this length, aligned on the wall clock (default: ${DEFAULTS.interval})`, 'INTERVAL'))
    .addOption(
      option('--timeseries <file>', 'write each interval as a JSON line as soon as it ends; - = stdout, which then carries JSON lines only (the result last, as --json)', 'TIMESERIES'),
    )
    .addOption(option('--over-time', 'show the over-time view (per interval) in the report even when stdout is not a terminal', 'OVER_TIME'))
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
  addMergeCommand(program, choose);
  return program;
}

/** `echo-load merge <inputs...>`, a subcommand of `program` with options of its own. */
function addMergeCommand(program: Command, choose: (chosen: Chosen) => void): void {
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
}
