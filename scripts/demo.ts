#!/usr/bin/env node
/**
 * `npm run demo`: the packaged experience without containers. Starts echo-server on a free
 * loopback port, drives it with `echo-load --clients 500` for a few seconds (the load report
 * goes to stdout), then stops the server with SIGTERM and checks that it shut down cleanly.
 * Exits 0 only if the load run and the shutdown both succeeded; 130 after Ctrl-C.
 *
 * A script that drives both programs, not part of either. Its load run warms up first
 * (`--warmup 2s`): 500 clients connecting at once is connection set-up, which the report shows
 * in its own rows (Connect, First echo), so the echo latency it shows is the steady state.
 *
 *   npm run demo                                 # 500 clients, 2 s warm-up, 5 s measured
 *   node dist/scripts/demo.js --duration 1s      # after `npm run build`
 *
 * The demo's own lines go to stderr, so stdout carries only echo-load's report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { OptionError, parseDuration, parseInteger } from '../src/parse-option.js';

const SERVER_CLI = fileURLToPath(new URL('../src/cli/echo-server.js', import.meta.url));
const LOAD_CLI = fileURLToPath(new URL('../load/cli.js', import.meta.url));
const HOST = '127.0.0.1';
/** Bounds on every wait, so a hung child can never hang the demo. */
const START_TIMEOUT_MS = 15_000;
const SERVER_SHUTDOWN = '5s';
const EXIT_GRACE_MS = 15_000;
const EXIT_INTERRUPTED = 130;
const LOG_TAIL_LINES = 20;

interface Child {
  process: ChildProcess;
  /** The exit code, or the signal's name when a signal ended it. */
  exited: Promise<number | NodeJS.Signals>;
}

const running = new Set<ChildProcess>();

function say(line: string): void {
  process.stderr.write(`demo: ${line}\n`);
}

/** Each child gets its own process group (`detached`), so Ctrl-C reaches only the demo, which
 * then stops the children in order: the load first (it prints its partial report), then the server. */
function startChild(script: string, args: string[], stdout: 'pipe' | 'inherit'): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', stdout, 'inherit'], detached: true });
  running.add(child);
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 'SIGKILL');
    });
  });
  return { process: child, exited };
}

/** Resolves with the child's exit, or undefined if it is still running after `ms`. */
async function exitWithin(child: Child, ms: number): Promise<number | NodeJS.Signals | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([child.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts echo-server on port 0 and learns the port from its `listening` log line (JSON). */
async function startServer(): Promise<{ child: Child; port: number; metricsPort: unknown; logTail: string[] }> {
  // Port 0 for both listeners: the demo never collides with a server already running.
  const args = ['--host', HOST, '--port', '0', '--metrics-port', '0', '--shutdown-timeout', SERVER_SHUTDOWN];
  const child = startChild(SERVER_CLI, args, 'pipe');
  // The server's log stays off the screen unless something goes wrong; reading it on also
  // keeps the pipe drained, since pino writes synchronously.
  const logTail: string[] = [];
  const lines = createInterface({ input: child.process.stdout! });
  const listening = new Promise<Record<string, unknown>>((resolve) => {
    lines.on('line', (line) => {
      if (logTail.push(line) > LOG_TAIL_LINES) logTail.shift();
      const entry = parseJson(line);
      if (entry?.msg === 'listening' && typeof entry.port === 'number') resolve(entry);
    });
  });
  const outcome = await Promise.race([listening, exitWithin(child, START_TIMEOUT_MS).then((exit) => ({ exit }))]);
  if (!('exit' in outcome)) return { child, port: outcome.port as number, metricsPort: outcome.metricsPort, logTail };
  child.process.kill('SIGKILL');
  throw new Error(
    outcome.exit === undefined
      ? `echo-server did not report 'listening' within ${START_TIMEOUT_MS / 1000} s`
      : `echo-server exited (${outcome.exit}) before listening`,
  );
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then the exit within the grace period; SIGKILL if it never comes. */
async function stop(child: Child, signal: NodeJS.Signals, graceMs: number): Promise<number | NodeJS.Signals | 'hung'> {
  child.process.kill(signal);
  const exit = await exitWithin(child, graceMs);
  if (exit !== undefined) return exit;
  child.process.kill('SIGKILL');
  await child.exited;
  return 'hung';
}

async function demo({ clients, warmup, duration }: DemoOptions): Promise<number> {
  let interrupted = false;
  let load: Child | undefined;
  const interrupt = () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted: stopping echo-load, then echo-server');
    load?.process.kill('SIGINT');
  };
  process.on('SIGINT', interrupt).on('SIGTERM', interrupt);

  const server = await startServer();
  say(`echo-server listening on ${HOST}:${server.port} (pid ${server.child.process.pid})`);
  if (typeof server.metricsPort === 'number') say(`its metrics, while it runs: http://${HOST}:${server.metricsPort}/metrics`);
  let loadExit: number | NodeJS.Signals | 'hung' | undefined;
  if (!interrupted) {
    say(`echo-load --clients ${clients} --warmup ${warmup} --duration ${duration}`);
    const args = ['--host', HOST, '--port', String(server.port), '--clients', String(clients), '--warmup', warmup, '--duration', duration];
    load = startChild(LOAD_CLI, args, 'inherit');
    loadExit = await exitWithin(load, parseDuration(warmup) + parseDuration(duration) + 60_000);
    if (loadExit === undefined) loadExit = await stop(load, 'SIGINT', EXIT_GRACE_MS);
  }

  const serverExit = await stop(server.child, 'SIGTERM', parseDuration(SERVER_SHUTDOWN) + EXIT_GRACE_MS);
  if (serverExit === 0) say('echo-server shut down cleanly (exit 0)');
  else {
    const why = serverExit === 'hung' ? 'still running after SIGTERM, killed' : `exit ${serverExit}`;
    say(`echo-server did not shut down cleanly: ${why}; its last log lines:`);
    for (const line of server.logTail) process.stderr.write(`  ${line}\n`);
  }
  // Interrupted before it set up its own handler, echo-load dies of the SIGINT itself.
  const loadInterrupted = interrupted && (loadExit === EXIT_INTERRUPTED || loadExit === 'SIGINT');
  if (loadExit !== undefined && loadExit !== 0 && !loadInterrupted) {
    say(`echo-load failed: exit ${loadExit === 'hung' ? 'hung, killed' : loadExit}`);
  }
  if (interrupted) return EXIT_INTERRUPTED;
  return loadExit === 0 && serverExit === 0 ? 0 : 1;
}

interface DemoOptions {
  clients: number;
  /** Passed on to echo-load as written (it parses the same syntax). */
  warmup: string;
  duration: string;
}

/** Options, checked here: durations are passed on as written (echo-load parses the same syntax). */
function parseOptions(argv: string[]): DemoOptions {
  const program = new Command('echo-demo')
    .description('Starts echo-server, runs echo-load against it, prints the report, shuts the server down.')
    .option('--clients <n>', 'concurrent connections', '500')
    .option('--warmup <duration>', 'echo traffic before measuring, so the echo latency shown is the steady state (e.g. 2s)', '2s')
    .option('--duration <duration>', 'how long echo-load measures (e.g. 5s)', '5s')
    .exitOverride();
  try {
    program.parse(argv);
    const options = program.opts<{ clients: string; warmup: string; duration: string }>();
    parseDuration(options.warmup, 'warmup');
    parseDuration(options.duration, 'duration');
    return { clients: parseInteger(options.clients, 'clients', 1), warmup: options.warmup, duration: options.duration };
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    if (error instanceof OptionError) {
      process.stderr.write(`echo-demo: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

const options = parseOptions(process.argv);
// Children never outlive the demo, whatever ends it.
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));
demo(options).then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
