import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workersNode } from '../../scripts/test-tools.js';
import { makeCertificates, type TestCertificates } from '../support/certificates.js';
import { echoOnce } from '../support/clients.js';
import { ROOT, run, type RunResult } from '../deploy/tools.js';
import { documentationCodeBlocks, type CodeBlock } from './readme.js';
import { startServerCommand, type RunningServer } from './server-command.js';
import { tokenize, untokenize, wordsUntilOperator, type Token } from './shell-words.js';
import { parseDuration } from '../../src/parse-option.js';

/**
 * Every command line in the code blocks of the README and of docs/*.md runs here as written,
 * with `echo-server` and `echo-load` on PATH the way `npm link` puts them there, against servers this file starts,
 * or is listed below with the reason it cannot. Addresses point at those servers and times
 * are bounded (see `boundLoad`), so that the whole file takes seconds; what is checked is what
 * the documentation promises a reader: the options exist, the values are valid, the run succeeds.
 */

/** Code blocks that are not shell commands, told by their first line. */
const NOT_SHELL: ReadonlyArray<{ first: RegExp; kind: string }> = [
  { first: /^function\* echo\(/, kind: 'TypeScript: the echo loop' },
  { first: /^import \{ Queue/, kind: 'TypeScript: the task runtime' },
  { first: /^\{"level":/, kind: 'log lines' },
  { first: /^echo-load: [\d,]+ connections to /, kind: "echo-load's report" },
  { first: /^Over time \(/, kind: "echo-load's over-time view" },
  { first: /^# \S+\.ya?ml$/, kind: 'YAML' },
];

/**
 * Commands that cannot run here, and why. With `inner`, the `echo-load` command inside it (from
 * that word to the next operator) still runs, against this file's servers.
 */
const NOT_RUN_HERE: ReadonlyArray<{ command: RegExp; reason: string; inner?: true }> = [
  { command: /^npm ci && npm run demo$/, reason: 'npm ci reinstalls node_modules under the running suite; test/deploy/demo.test.ts runs the demo' },
  { command: /^npm link --ignore-scripts$/, reason: "it writes npm's global prefix; this file makes the same links (package.json's bin) in a temporary directory on PATH" },
  { command: /^npm test$/, reason: 'the suite itself' },
  { command: /^npm pack$/, reason: 'it rebuilds dist/ under the running suite; test/deploy/global-install.test.ts packs and installs' },
  { command: /^npm install -g /, reason: "it writes npm's global prefix; test/deploy/global-install.test.ts installs the tarball into a temporary one" },
  { command: /^npm run lint$/, reason: 'a minute of both cores; .ci/run runs it' },
  { command: /^npm run build$/, reason: 'it rewrites dist/ under the test files that spawn it; npm test runs it first' },
  { command: /^npm run bench$/, reason: 'benchmarks want minutes of quiet cores' },
  { command: /^scripts\/loaded-suite\.sh\b/, reason: 'the whole suite several times beside CPU burners: tens of minutes' },
  { command: /^docker run .* echo-load /, reason: 'needs Docker and the image', inner: true },
  { command: /^(ECHO_LOAD_HOST=\S+ )?docker /, reason: 'needs Docker and the image' },
  { command: /^(kind|minikube) /, reason: 'needs a local Kubernetes cluster' },
  { command: /^kubectl .* \| (docker run .* )?echo-load merge /, reason: 'needs a Kubernetes cluster (the merge reads results given on stdin here)', inner: true },
  { command: /^kubectl /, reason: 'needs a Kubernetes cluster' },
  { command: /^for i in .* ssh .* echo-load /, reason: 'needs other machines (load1, load2, load3)', inner: true },
];

/** A command line of the documentation: where it is (file and line), as written, and as tokens. */
interface ReadmeCommand {
  file: string;
  line: number;
  text: string;
  tokens: Token[];
}

/** The shell blocks' command lines: `\` continuations joined, comments dropped, a CI step's `- run:` taken off. */
function readmeCommands(blocks: readonly CodeBlock[]): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  for (const block of blocks) {
    if (NOT_SHELL.some((kind) => kind.first.test(block.lines[0]!))) continue;
    for (let i = 0; i < block.lines.length; i++) {
      const line = block.line + i;
      let text = block.lines[i]!;
      while (text.endsWith('\\') && i + 1 < block.lines.length) text = `${text.slice(0, -1)} ${block.lines[++i]!.trim()}`;
      text = text.trim().replace(/^- run: /, '');
      const tokens = tokenize(text);
      if (tokens.length > 0) commands.push({ file: block.file, line, text: untokenize(tokens), tokens });
    }
  }
  return commands;
}

const COMMANDS = readmeCommands(documentationCodeBlocks());

/** Programs this file runs, by the command's first word (after any `NAME=value`). */
const RUNNABLE = new Set(['echo-server', 'echo-load', 'curl', 'openssl']);

function program(command: ReadmeCommand): string {
  return wordsUntilOperator(command.tokens).find((word) => !/^[A-Z_][A-Z0-9_]*=/.test(word)) ?? '';
}

// Bounds on what a documented command asks for, so that each finishes in a few seconds.
const LOAD_DURATION = '1s';
const LOAD_WARMUP = '200ms';
const MAX_CLIENTS = 50;
const MAX_MESSAGES = 2_000;
const RUN_TIMEOUT_MS = 60_000;
/** Plain servers beside the first, for commands with several targets. */
const MORE_SERVERS = 2;
/** Commands run at once: each echo-load keeps two worker threads busy on a 2-core machine. */
const PARALLEL = 3;

/** The servers the documentation's client commands are pointed at. */
interface Servers {
  /** Plain and TLS (the test CA's server certificate; client certificates requested, verified if sent). */
  tls: RunningServer;
  /** `--proxy-protocol any`. */
  proxy: RunningServer;
  /** More plain servers, for commands with several `--target`s (each must be another address). */
  more: RunningServer[];
}

let certs: TestCertificates;
let work: string;
let servers: Servers;
/** Where `echo-server` and `echo-load` are linked, first on the commands' PATH. */
let binDir: string;

/** The environment a documented command runs in: no ECHO_* settings of the caller's, PATH as `npm link` leaves it. */
function commandEnv(nodeDir = dirname(process.execPath)): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ECHO_')));
  return { ...env, PATH: `${binDir}:${nodeDir}:${process.env.PATH ?? ''}` };
}

/**
 * What `npm link` does for the package's own commands: a link per `bin` entry of package.json
 * in a directory on PATH, to an executable file.
 */
function linkBins(dir: string): void {
  const bin = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
  for (const [name, target] of Object.entries(bin)) {
    const file = join(ROOT, target);
    if ((statSync(file).mode & 0o111) === 0) chmodSync(file, 0o755);
    symlinkSync(file, join(dir, name));
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'echo-readme-'));
  binDir = join(work, 'bin');
  mkdirSync(binDir);
  linkBins(binDir);
  certs = await makeCertificates();
  // The file names the documentation's TLS commands use, in the directory they run in.
  const files: Record<string, string> = {
    'server.pem': certs.server.cert,
    'server.key': certs.server.key,
    'ca.pem': readFileSync(certs.ca.certFile, 'utf8'),
    'client.pem': certs.client.cert,
    'client.key': certs.client.key,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), text);
  const common = ['--host', '127.0.0.1', '--port', '0', '--metrics-port', '0'];
  const [tls, proxy, ...more] = await Promise.all([
    startServerCommand('echo-server', [...common, '--tls-port', '0', '--tls-cert', 'server.pem', '--tls-key', 'server.key', '--tls-ca', 'ca.pem', '--tls-client-auth', 'request'], {
      env: commandEnv(),
      cwd: work,
    }),
    startServerCommand('echo-server', [...common, '--proxy-protocol', 'any'], { env: commandEnv(), cwd: work }),
    ...Array.from({ length: MORE_SERVERS }, () => startServerCommand('echo-server', common, { env: commandEnv(), cwd: work })),
  ]);
  servers = { tls: tls!, proxy: proxy!, more };
}, 60_000);

afterAll(async () => {
  const codes = await Promise.all([servers?.tls, servers?.proxy, ...(servers?.more ?? [])].map((server) => server?.stop()));
  await certs?.cleanup();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  expect(codes, "the test's own servers shut down cleanly").toEqual(codes.map(() => 0));
});

/** Runs `work` once fewer than `PARALLEL` others are running. */
const inTurn = (() => {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    while (active >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await work();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
})();

/**
 * An `echo-load` command pointed at this file's servers and bounded in time: hosts become
 * 127.0.0.1, ports (and targets) the port of the server it needs (PROXY, TLS or plain), with
 * one added where the command relies on the default; `--duration`, `--warmup` and `--stages`
 * are cut short, `--clients`, `--messages`, `--arrival-rate` and `--idle` capped. `merge` reads
 * files and is left as it is.
 */
function boundLoad(words: readonly string[]): string[] {
  if (words[1] === 'merge') return [...words];
  const port = words.includes('--proxy-protocol')
    ? (servers.proxy.listening.port as number)
    : words.includes('--tls')
      ? (servers.tls.listening.tlsPort as number)
      : (servers.tls.listening.port as number);
  // Each target of a command's is another server here: echo-load refuses a target given twice.
  const targets: string[] = [];
  const targetPort = (target: string) => {
    if (!targets.includes(target)) targets.push(target);
    const k = targets.indexOf(target);
    if (k === 0) return port;
    if (port !== servers.tls.listening.port || k > servers.more.length) throw new Error(`no server here for a target like ${target} in ${words.join(' ')}`);
    return servers.more[k - 1]!.listening.port as number;
  };
  const bounded = [words[0]!];
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    const value = words[i + 1]!;
    const replaced: Record<string, string> = {
      '--host': '127.0.0.1',
      '--port': String(port),
      '--target': `127.0.0.1:${word === '--target' ? targetPort(value) : port}`,
      '--duration': LOAD_DURATION,
      '--warmup': LOAD_WARMUP,
      '--clients': String(Math.min(Number(value), MAX_CLIENTS)),
      '--messages': String(Math.min(Number(value), MAX_MESSAGES)),
      '--stages': word === '--stages' ? boundStages(value) : '',
      '--arrival-rate': String(Math.min(Number(value), MAX_CLIENTS)),
      '--idle': String(Math.min(Number(value), MAX_CLIENTS)),
    };
    if (word in replaced) {
      bounded.push(word, replaced[word]!);
      i++;
    } else {
      bounded.push(word);
    }
  }
  if (!words.includes('--port') && !words.includes('--target')) bounded.push('--port', String(port));
  // --stages sets the run's length itself (and refuses --duration).
  if (!words.includes('--duration') && !words.includes('--messages') && !words.includes('--stages')) bounded.push('--duration', LOAD_DURATION);
  return bounded;
}

/**
 * `--stages` cut to `LOAD_DURATION` in all, shared evenly by the stages, each stage's target
 * capped at `MAX_CLIENTS`: the ramp's shape (up, hold, down) stays, its size and length go.
 *
 * @example
 *   boundStages('5s:1000,10s:1000,5s:0') // '333ms:50,333ms:50,333ms:0'
 */
function boundStages(stages: string): string {
  const list = stages.split(',');
  const each = Math.floor(parseDuration(LOAD_DURATION, 'duration') / list.length);
  return list.map((stage) => `${each}ms:${Math.min(Number(stage.split(':')[1]), MAX_CLIENTS)}`).join(',');
}

/** An `echo-server` command on loopback and free ports (the metrics and TLS ports too). */
function boundServer(words: readonly string[]): string[] {
  const bounded = [words[0]!];
  const ports = ['--port', '--metrics-port', '--tls-port'];
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    bounded.push(word);
    if (word === '--host' || ports.includes(word)) {
      bounded.push(word === '--host' ? '127.0.0.1' : '0');
      i++;
    }
  }
  for (const flag of ports) if (!words.includes(flag)) bounded.push(flag, '0');
  return bounded;
}

/** Replaces the words of the simple command that starts at `start` (up to the next operator). */
function replaceCommand(tokens: readonly Token[], start: number, words: readonly string[]): Token[] {
  const length = wordsUntilOperator(tokens.slice(start)).length;
  return [...tokens.slice(0, start), ...words.map((word) => ({ word })), ...tokens.slice(start + length)];
}

function runShell(tokens: readonly Token[], input?: string): Promise<RunResult> {
  return run('bash', ['-c', untokenize(tokens)], { cwd: work, env: commandEnv(), timeoutMs: RUN_TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
}

/** One `echo-load --json` result of a small run, for the merge commands' inputs. */
async function smallResult(): Promise<string> {
  const result = await runShell(tokenize(`echo-load --port ${servers.tls.listening.port as number} --clients 4 --duration 300ms --json`));
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

/** Results as `kubectl logs` of several pods gives them, made once. */
let podResults: Promise<string> | undefined;

/** Makes the result files a merge command reads that no earlier command wrote (the ssh loop's). */
async function mergeInputs(words: readonly string[]): Promise<string | undefined> {
  const inputs = words.slice(2).filter((word, i, all) => !word.startsWith('--') && all[i - 1] !== '--threshold');
  await Promise.all(inputs.filter((input) => input !== '-' && !existsSync(join(work, input))).map(async (input) => writeFileSync(join(work, input), await smallResult())));
  if (!inputs.includes('-')) return undefined;
  podResults ??= Promise.all([smallResult(), smallResult(), smallResult()]).then((results) => results.join(''));
  return podResults;
}

/**
 * What a successful echo-load run shows: exit 0, no errors, messages echoed (in the report, or
 * the JSON on stdout or in the file stdout went to). A threshold on time or rate may cross on a
 * loaded machine (exit 99: that is what it is for); one on errors must hold.
 */
function expectLoadSucceeded(words: readonly string[], tokens: readonly Token[], result: RunResult): void {
  const thresholds = words.flatMap((word, i) => (words[i - 1] === '--threshold' ? word.split(',') : []));
  const crossed = [...result.stderr.matchAll(/^echo-load: threshold (\S+) crossed/gm)].map((match) => match[1]!);
  if (thresholds.some((threshold) => !threshold.startsWith('errors'))) {
    expect([0, 99], result.stderr).toContain(result.code);
    expect(crossed.filter((threshold) => threshold.startsWith('errors'))).toEqual([]);
  } else {
    expect(result.code, result.stderr).toBe(0);
  }
  const redirect = tokens.findIndex((token) => 'op' in token && token.op === '>');
  if (words[words.indexOf('--timeseries') + 1] === '-' && tokens.some((token) => 'op' in token && token.op === '|')) {
    // The JSON lines went through a filter (jq): what comes out is the filter's, each a line of JSON.
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines.length, result.stderr).toBeGreaterThan(0);
    for (const line of lines) JSON.parse(line);
    return;
  }
  const output = redirect < 0 ? result.stdout : readFileSync(join(work, (tokens[redirect + 1] as { word: string }).word), 'utf8');
  if (words.includes('--json')) {
    const json = JSON.parse(output) as { errors: number; requests: { total: number } };
    expect(json.errors).toBe(0);
    expect(json.requests.total).toBeGreaterThan(0);
  } else {
    expect(output).toMatch(/^0 errors$/m);
    expect(Number(/^([\d,]+) messages echoed/m.exec(output)?.[1]?.replaceAll(',', ''))).toBeGreaterThan(0);
  }
}

/** Runs the echo-load command starting at token `start` (the rest of the line around it as written). */
async function runLoad(tokens: readonly Token[], start: number): Promise<void> {
  const words = wordsUntilOperator(tokens.slice(start));
  const input = words[1] === 'merge' ? await mergeInputs(words) : undefined;
  const bounded = replaceCommand(tokens, start, boundLoad(words));
  const result = await runShell(bounded, input);
  expectLoadSucceeded(words, bounded, result);
}

/** Starts the server command, echoes once on its plain port (unless it waits for PROXY headers), SIGTERM: exit 0. */
async function runServer(words: readonly string[]): Promise<void> {
  // `--workers` needs SO_REUSEPORT: on a Node.js that has it, as docs/server.md says.
  const env = commandEnv(words.includes('--workers') ? dirname(workersNode()) : undefined);
  const [command, ...args] = boundServer(words);
  const server = await startServerCommand(command!, args, { env, cwd: work });
  try {
    const port = server.listening.port as number | null;
    if (port !== null && !words.includes('--proxy-protocol')) expect((await echoOnce(port, Buffer.from('hello readme'))).toString()).toBe('HELLO README');
  } finally {
    expect(await server.stop(), server.stderr()).toBe(0);
  }
}

/** curl against the TLS server's metrics port: /metrics in Prometheus' format, /healthz "ok". */
async function runCurl(tokens: readonly Token[]): Promise<void> {
  const metricsPort = servers.tls.listening.metricsPort as number;
  const words = wordsUntilOperator(tokens).map((word) => word.replace(/^(\w+:\/\/)?[\w.-]+:9464(?=\/|$)/, `$1127.0.0.1:${metricsPort}`));
  const result = await runShell(words.map((word) => ({ word })));
  expect(result.code, result.stderr).toBe(0);
  const url = words.find((word) => word.includes(`:${metricsPort}`))!;
  if (url.endsWith('/metrics')) expect(result.stdout).toMatch(/^# TYPE echo_connections_active gauge$/m);
  else if (url.endsWith('/healthz')) expect(result.stdout.trim()).toBe('ok');
  else throw new Error(`no check for ${url}`);
}

/** `openssl s_client -connect ... -quiet`: a typed line comes back upper-cased over TLS. */
async function runOpenssl(tokens: readonly Token[]): Promise<void> {
  const words = wordsUntilOperator(tokens);
  expect(words.slice(0, 2)).toEqual(['openssl', 's_client']);
  const args = words.slice(1).map((word, i, all) => (all[i - 1] === '-connect' ? `127.0.0.1:${servers.tls.listening.tlsPort as number}` : word));
  const child = spawn('openssl', args, { cwd: work, env: commandEnv() });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const echoed = new Promise<boolean>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('HELLO README\n')) resolve(true);
    });
    void closed.then(() => resolve(false));
  });
  child.stdin.write('hello readme\n');
  const got = await echoed;
  // -quiet ignores the end of its input: it ends when told to.
  child.kill('SIGTERM');
  await closed;
  expect(got, `openssl said: ${stdout}${stderr}`).toBe(true);
}

/** The `echo-load` command inside a longer line: from that word to the next operator. */
function innerLoad(tokens: readonly Token[]): Token[] {
  const start = tokens.findIndex((token) => 'word' in token && token.word === 'echo-load');
  return wordsUntilOperator(tokens.slice(start)).map((word) => ({ word }));
}

function runCommand(command: ReadmeCommand): Promise<void> {
  switch (program(command)) {
    case 'echo-load':
      return runLoad(command.tokens, 0);
    case 'echo-server':
      return runServer(wordsUntilOperator(command.tokens));
    case 'curl':
      return runCurl(command.tokens);
    case 'openssl':
      return runOpenssl(command.tokens);
  }
  throw new Error(`no way to run ${command.text}`);
}

describe('the README and docs/', () => {
  it('has commands, and every exclusion still names one of them', () => {
    expect(COMMANDS.length).toBeGreaterThan(30);
    for (const exclusion of NOT_RUN_HERE) {
      expect(COMMANDS.some((command) => exclusion.command.test(command.text)), `no documented command matches ${exclusion.command}`).toBe(true);
    }
  });

  describe.concurrent('commands run as written', () => {
    for (const command of COMMANDS) {
      const excluded = NOT_RUN_HERE.find((exclusion) => exclusion.command.test(command.text));
      if (excluded?.inner) {
        it(`${command.file}:${command.line}: the echo-load command in \`${command.text}\` (${excluded.reason})`, () =>
          inTurn(() => runLoad(innerLoad(command.tokens), 0)), RUN_TIMEOUT_MS * 2);
      } else if (excluded === undefined) {
        it(`${command.file}:${command.line}: ${command.text}`, () => {
          if (!RUNNABLE.has(program(command))) {
            throw new Error(`${command.file}:${command.line}: unknown command \`${command.text}\`: run it in this test, or add it to NOT_RUN_HERE with the reason`);
          }
          return inTurn(() => runCommand(command));
        }, RUN_TIMEOUT_MS * 2);
      }
    }
  });
});
