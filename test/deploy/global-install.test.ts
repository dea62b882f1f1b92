import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, run } from './tools.js';

/**
 * echo installed as a tool: the tarball `npm pack` makes, installed with `npm install -g` into
 * a temporary prefix as a user would install it, and its two commands run against each other.
 * Each case is one real install (the dependencies come from the npm registry): slow, so the
 * bounds are generous.
 */

const INSTALL_TIMEOUT_MS = 300_000;
/** The compilers a machine without a build toolchain lacks (make and Python stay: the failure is the compiler's). */
const COMPILER = /^(cc|c\+\+|cpp|gcc|g\+\+|clang|clang\+\+)(-[\d.]+)?$|-linux-gnu-(gcc|g\+\+|c\+\+|cpp)(-[\d.]+)?$/;

let dir: string;
let tarball: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'echo-global-install-'));
  // --ignore-scripts: pack the dist/ that `npm test` built (the `prepare` script would rebuild
  // it under the other test files, which run it at the same time).
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: npmEnv(process.env.PATH!), timeoutMs: 120_000 });
  expect(packed.code, packed.stderr).toBe(0);
  const { filename, files } = (JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
  tarball = join(dir, filename);
  const paths = files.map((file) => file.path);
  expect(paths).toEqual(expect.arrayContaining(['binding.gyp', 'native/sockets.c', 'scripts/build-native.js', 'dist/src/cli/echo-server.js', 'dist/load/cli.js']));
  expect(paths.filter((path) => path.startsWith('build/'))).toEqual([]);
}, 120_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/**
 * An environment for npm as a user's shell gives it: no settings of the npm that runs this
 * suite (npm_config_*), no user npmrc (this machine's may name a nodedir), and an empty
 * node-gyp cache (it lives under XDG_CACHE_HOME), so that headers can come only from where
 * the install finds them itself; node-gyp's fallback, a download from nodejs.org, fails here.
 */
function npmEnv(path: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_|^(CC|CXX|LINK)$/i.test(key)));
  const userconfig = join(dir, 'npmrc');
  writeFileSync(userconfig, '');
  return { ...env, PATH: path, npm_config_userconfig: userconfig, XDG_CACHE_HOME: join(dir, 'cache'), npm_config_update_notifier: 'false' };
}

/** PATH with this suite's node first (the bins' `#!/usr/bin/env node` finds it) and `extra` dirs after. */
function pathWith(...dirs: string[]): string {
  return [dirname(process.execPath), ...dirs].join(delimiter);
}

/** A folder of links to every command on PATH except the compilers: a machine without a C/C++ toolchain. */
function pathWithoutCompilers(): string {
  const bin = join(dir, 'no-compiler-bin');
  mkdirSync(bin);
  for (const from of pathWith(...process.env.PATH!.split(delimiter)).split(delimiter)) {
    if (!existsSync(from)) continue;
    for (const name of readdirSync(from)) {
      if (!COMPILER.test(name) && !existsSync(join(bin, name))) symlinkSync(join(from, name), join(bin, name));
    }
  }
  return bin;
}

/**
 * docs/development.md's `npm install -g --allow-scripts=<tarball> <tarball>` into `prefix`, the install
 * script's output shown (--foreground-scripts) so that it can be read. npm 12 runs the install
 * script of a package only when allowed, a tarball by its absolute path; npm 11 warns.
 */
async function installGlobally(prefix: string, env: NodeJS.ProcessEnv) {
  const args = ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--foreground-scripts', `--allow-scripts=${tarball}`, tarball];
  const result = await run('npm', args, { cwd: dir, env, timeoutMs: INSTALL_TIMEOUT_MS });
  return { code: result.code, output: `${result.stdout}\n${result.stderr}` };
}

/** Starts the installed `echo-server --port 0 --no-metrics` and resolves with its `listening` log line and its log so far. */
function startInstalledServer(prefix: string, env: NodeJS.ProcessEnv) {
  const child = spawn(join(prefix, 'bin', 'echo-server'), ['--port', '0', '--no-metrics'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the installed echo-server did not log listening: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'listening') {
        clearTimeout(timer);
        resolve(entry);
      }
    });
    void exited.then((code) => reject(new Error(`the installed echo-server exited with ${code} before listening: ${stderr}`)));
  });
  return { child, logs, listening, exited };
}

/** Runs the installed echo-load against `port` for 40 messages over 4 connections and checks every count of its --json result. */
async function expectEchoLoadAgainst(prefix: string, port: number, env: NodeJS.ProcessEnv): Promise<void> {
  const load = await run(join(prefix, 'bin', 'echo-load'), ['--port', String(port), '--clients', '4', '--workers', '1', '--messages', '40', '--json', '--no-progress'], { env, timeoutMs: 30_000 });
  expect(load.code, load.stderr).toBe(0);
  const result = JSON.parse(load.stdout) as { connected: number; errors: number; mismatches: number; requests: { sent: number; total: number }; throughput: { total: number } };
  expect({ connected: result.connected, errors: result.errors, mismatches: result.mismatches, sent: result.requests.sent, echoed: result.requests.total, bytes: result.throughput.total }).toEqual({
    connected: 4,
    errors: 0,
    mismatches: 0,
    sent: 40,
    echoed: 40,
    bytes: 40 * 64,
  });
}

/** Installs the tarball, runs both installed commands against each other, and returns the server's log; the server is stopped with SIGTERM and must exit 0. */
async function installAndRun(prefix: string, env: NodeJS.ProcessEnv) {
  const install = await installGlobally(prefix, env);
  expect(install.code, install.output).toBe(0);
  const server = startInstalledServer(prefix, env);
  try {
    const listening = await server.listening;
    await expectEchoLoadAgainst(prefix, listening.port as number, env);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    return { installOutput: install.output, listening, logs: server.logs };
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  }
}

describe('echo installed from its npm tarball (npm pack, npm install -g)', () => {
  it("puts echo-server and echo-load on PATH, and node-gyp builds the native helper with this Node.js's own headers, offline", async () => {
    const prefix = join(dir, 'with-compiler');
    const { installOutput, listening } = await installAndRun(prefix, npmEnv(pathWith(process.env.PATH!)));
    expect(installOutput).toContain('build-native: built build/Release/sockets.node');
    expect(installOutput).not.toContain('install-scripts');
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'echo', 'build', 'Release', 'sockets.node'))).toBe(true);
    expect(listening.ownSockets).toBe(true);
  }, INSTALL_TIMEOUT_MS + 60_000);

  it("installs without a compiler, and echo-server then says it runs on Node's streams", async () => {
    const bin = pathWithoutCompilers();
    const found = await run('sh', ['-c', 'for tool in cc gcc g++ c++ make python3; do command -v "$tool" >/dev/null && echo "$tool"; done; true'], { env: { PATH: bin } });
    expect(found.stdout.split('\n').filter(Boolean)).toEqual(['make', 'python3']);

    const prefix = join(dir, 'without-compiler');
    const { installOutput, listening, logs } = await installAndRun(prefix, npmEnv(bin));
    expect(installOutput).toMatch(/build-native: node-gyp could not build build\/Release\/sockets\.node \(make: cc: No such file or directory\); echo-server will run on Node's streams/);
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'echo', 'build', 'Release', 'sockets.node'))).toBe(false);
    expect(listening.ownSockets).toBe(false);
    expect(logs.some((entry) => entry.level === 40 && /running without the native socket helper/.test(entry.msg as string))).toBe(true);
  }, INSTALL_TIMEOUT_MS + 60_000);
});
