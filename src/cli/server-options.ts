/**
 * echo-server's command line: every option, its environment variable and its default (the
 * server's own defaults, shown by `--help`), and the checks across options. Returns what the
 * CLI needs; only the CLI's entry point exits the process.
 */
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS } from '../log.js';
import { formatDuration, OptionError, parseDuration, parseInteger, parseSubnets } from '../parse-option.js';
import {
  DEFAULT_PROXY_HEADER_TIMEOUT_MS,
  DEFAULT_SERVER_OPTIONS as DEFAULTS,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_TLS_PORT,
  PROXY_PROTOCOL_MODES,
  TLS_CLIENT_AUTH,
  type ServerOptions,
  type TlsClientAuth,
} from '../server/index.js';
import {
  checkTlsProtocol,
  DEFAULT_TLS_CIPHERS,
  DEFAULT_TLS_CIPHERS_NAME,
  DEFAULT_TLS_MIN_VERSION,
  parseTlsCiphers,
  TLS_VERSIONS,
  type TlsVersion,
} from '../tls-profile.js';
import { VERSION } from './version.js';

/** Adapts our parsers to commander, which reports InvalidArgumentError as a one-line error. */
function using<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof OptionError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

/** `--workers`: a count, or `auto` for the cores this process may use. */
function parseWorkers(text: string): number {
  if (text.trim() === 'auto') return availableParallelism();
  return parseInteger(text, 'workers', 1, 1024);
}

/** An on/off value from the environment (`ECHO_METRICS=0`) or `--metrics off`. */
function parseSwitch(name: string): (text: string) => boolean {
  return (text) => {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    throw new OptionError(`invalid ${name} switch '${text}': use on/off, true/false or 1/0`);
  };
}

const port = (flags: string, help: string, env: string, value: number) =>
  new Option(flags, help)
    .env(env)
    .default(value)
    .argParser(using((t) => parseInteger(t, flags.split(' ')[0]!.slice(2), 0, 65535)));
const duration = (flags: string, help: string, env: string, ms: number) =>
  new Option(flags, help)
    .env(env)
    .default(ms, formatDuration(ms))
    .argParser(using((t) => parseDuration(t, flags.split(' ')[0]!.slice(2))));

/** The commander program; `exitOverride` makes it throw instead of exiting. */
export function buildProgram(): Command {
  return new Command('echo-server')
    .description('A TCP echo server: one event loop, one task per client; echoes what it reads, upper-cased.')
    .version(VERSION)
    .addOption(new Option('--host <address>', 'address to listen on').env('ECHO_HOST').default(DEFAULTS.host))
    .addOption(port('--port <port>', 'port for plain TCP (0 picks a free one)', 'ECHO_PORT', DEFAULTS.port))
    .addOption(
      new Option('--workers <n|auto>', 'copies of the server on the same ports, one event loop each (auto: one per core)')
        .env('ECHO_WORKERS')
        .default(1)
        .argParser(using(parseWorkers)),
    )
    .addOption(new Option('--plain [on|off]', 'listen for plain TCP').env('ECHO_PLAIN').default(true, 'on').argParser(using(parseSwitch('plain'))))
    .addOption(new Option('--no-plain', 'no plain TCP listener: TLS only'))
    .addOption(port('--tls-port <port>', 'port for TLS, with --tls-cert and --tls-key', 'ECHO_TLS_PORT', DEFAULT_TLS_PORT))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate (chain) for the TLS listener').env('ECHO_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for the TLS listener').env('ECHO_TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', 'PEM CA certificates that client certificates must chain to').env('ECHO_TLS_CA'))
    .addOption(
      new Option('--tls-client-auth <mode>', 'ask TLS clients for a certificate: none, request, require')
        .env('ECHO_TLS_CLIENT_AUTH')
        .default('none')
        .choices(TLS_CLIENT_AUTH),
    )
    .addOption(
      new Option('--tls-min-version <version>', 'lowest TLS version the TLS listener accepts: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3')
        .env('ECHO_TLS_MIN_VERSION')
        .default(DEFAULT_TLS_MIN_VERSION)
        .choices(TLS_VERSIONS),
    )
    .addOption(
      new Option('--tls-ciphers <list>', "OpenSSL cipher list for the TLS listener, TLS_* names for TLS 1.3 (intermediate: Mozilla's profile, ECDHE with AES-GCM or ChaCha20-Poly1305)")
        .env('ECHO_TLS_CIPHERS')
        .default(DEFAULT_TLS_CIPHERS, DEFAULT_TLS_CIPHERS_NAME)
        .argParser(using((t) => parseTlsCiphers(t))),
    )
    .addOption(
      duration('--tls-handshake-timeout <duration>', 'drop a TLS client that has not finished its handshake by then', 'ECHO_TLS_HANDSHAKE_TIMEOUT', DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS),
    )
    .addOption(
      new Option('--proxy-protocol <version>', 'expect a PROXY protocol header first: off, v1, v2, any')
        .env('ECHO_PROXY_PROTOCOL')
        .default('off')
        .choices(['off', ...PROXY_PROTOCOL_MODES]),
    )
    .addOption(
      new Option('--proxy-protocol-from <subnets>', 'only these peers may send a PROXY header (e.g. 10.0.0.0/8,::1); others are refused')
        .env('ECHO_PROXY_PROTOCOL_FROM')
        .argParser(using((t) => parseSubnets(t, 'proxy-protocol-from'))),
    )
    .addOption(
      duration('--proxy-header-timeout <duration>', 'close a connection whose PROXY header is not complete by then', 'ECHO_PROXY_HEADER_TIMEOUT', DEFAULT_PROXY_HEADER_TIMEOUT_MS),
    )
    .addOption(
      new Option('--backlog <n>', 'queue of connections waiting to be accepted')
        .env('ECHO_BACKLOG')
        .default(DEFAULTS.backlog)
        .argParser(using((t) => parseInteger(t, 'backlog', 1, 65535))),
    )
    .addOption(
      new Option('--max-connections <n>', 'close connections past this many at once (0 = no limit)')
        .env('ECHO_MAX_CONNECTIONS')
        .default(DEFAULTS.maxConnections)
        .argParser(using((t) => parseInteger(t, 'max-connections', 0))),
    )
    .addOption(duration('--idle-timeout <duration>', 'close a connection idle this long (0 = never)', 'ECHO_IDLE_TIMEOUT', DEFAULTS.idleTimeoutMs))
    .addOption(
      duration('--shutdown-timeout <duration>', 'on SIGTERM/SIGINT, let connections finish this long', 'ECHO_SHUTDOWN_TIMEOUT', DEFAULTS.shutdownTimeoutMs),
    )
    .addOption(port('--metrics-port <port>', 'port for /metrics and /healthz (0 picks a free one)', 'ECHO_METRICS_PORT', 9464))
    .addOption(new Option('--metrics-host <address>', 'address for /metrics and /healthz (default: --host)').env('ECHO_METRICS_HOST'))
    .addOption(new Option('--metrics [on|off]', 'serve /metrics and /healthz').env('ECHO_METRICS').default(true, 'on').argParser(using(parseSwitch('metrics'))))
    .addOption(new Option('--no-metrics', 'do not serve /metrics and /healthz'))
    .addOption(duration('--max-blocking <duration>', 'warn when one task holds the event loop this long (0 = off)', 'ECHO_MAX_BLOCKING', 100))
    .addOption(new Option('--log-level <level>', 'log level').env('ECHO_LOG_LEVEL').default('info').choices(LOG_LEVELS))
    .exitOverride()
    .configureOutput({
      // commander's own errors (unknown option, bad value) become one line naming the problem.
      outputError: (text, write) => write(`echo-server: ${text.replace(/^error: /, '')}`),
    });
}

/** What commander hands back. */
interface Parsed {
  host: string;
  port: number;
  workers: number;
  plain: boolean;
  tlsPort: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsClientAuth: TlsClientAuth;
  tlsMinVersion: TlsVersion;
  tlsCiphers: string;
  tlsHandshakeTimeout: number;
  proxyProtocol: 'off' | (typeof PROXY_PROTOCOL_MODES)[number];
  proxyProtocolFrom?: ReturnType<typeof parseSubnets>;
  proxyHeaderTimeout: number;
  backlog: number;
  maxConnections: number;
  idleTimeout: number;
  shutdownTimeout: number;
  metricsPort: number;
  metricsHost?: string;
  metrics: boolean;
  maxBlocking: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** The CLI's options: the server's, and the CLI's own around it. */
export interface CliOptions {
  server: Omit<ServerOptions, 'logger'>;
  /** Copies of the server to run (`--workers`); 1 runs it in this process. */
  workers: number;
  metrics: { host: string; port: number } | undefined;
  maxBlockingMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

/**
 * Parses `argv` (commander errors propagate as CommanderError; checks across options throw
 * OptionError, one line each).
 */
export function parseServerOptions(argv: string[]): CliOptions {
  const program = buildProgram();
  program.parse(argv);
  const o = program.opts<Parsed>();
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
    throw new OptionError('--tls-cert and --tls-key go together: give both for the TLS listener');
  }
  const tls = o.tlsCert !== undefined && o.tlsKey !== undefined;
  if (!tls && (o.tlsCa !== undefined || o.tlsClientAuth !== 'none')) {
    throw new OptionError('--tls-ca and --tls-client-auth need the TLS listener: give --tls-cert and --tls-key');
  }
  if (!tls && (o.tlsMinVersion !== DEFAULT_TLS_MIN_VERSION || o.tlsCiphers !== DEFAULT_TLS_CIPHERS)) {
    throw new OptionError('--tls-min-version and --tls-ciphers need the TLS listener: give --tls-cert and --tls-key');
  }
  const protocol = checkTlsProtocol({ minVersion: o.tlsMinVersion, ciphers: o.tlsCiphers });
  if (o.tlsClientAuth !== 'none' && o.tlsCa === undefined) {
    throw new OptionError(`--tls-client-auth ${o.tlsClientAuth} needs --tls-ca: the CA that client certificates must chain to`);
  }
  if (!o.plain && !tls) throw new OptionError('--no-plain leaves nothing to listen on: give --tls-cert and --tls-key for TLS');
  if (o.proxyProtocol === 'off' && o.proxyProtocolFrom !== undefined) {
    throw new OptionError('--proxy-protocol-from needs --proxy-protocol v1, v2 or any');
  }
  return {
    server: {
      host: o.host,
      port: o.port,
      plain: o.plain,
      tls: tls
        ? {
            port: o.tlsPort,
            certFile: o.tlsCert!,
            keyFile: o.tlsKey!,
            ...(o.tlsCa === undefined ? {} : { caFile: o.tlsCa }),
            clientAuth: o.tlsClientAuth,
            handshakeTimeoutMs: o.tlsHandshakeTimeout,
            ...protocol,
          }
        : undefined,
      proxy:
        o.proxyProtocol === 'off'
          ? undefined
          : { mode: o.proxyProtocol, trusted: o.proxyProtocolFrom, headerTimeoutMs: o.proxyHeaderTimeout },
      backlog: o.backlog,
      reusePort: o.workers > 1,
      maxConnections: o.maxConnections,
      idleTimeoutMs: o.idleTimeout,
      shutdownTimeoutMs: o.shutdownTimeout,
    },
    workers: o.workers,
    metrics: o.metrics ? { host: o.metricsHost ?? o.host, port: o.metricsPort } : undefined,
    maxBlockingMs: o.maxBlocking,
    logLevel: o.logLevel,
  };
}
