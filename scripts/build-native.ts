/**
 * `npm run build`, second step: compiles native/sockets.c into
 * dist/native/sockets.node with the system's C compiler, against the Node-API headers
 * of the Node.js that runs this script (or `npm_config_nodedir`). Node-API is stable across
 * Node.js lines, so the result loads on every supported one.
 *
 * Without a compiler or headers the build still succeeds: it says so in one line, and
 * echo-server then runs without it, at libuv's pace and through Node's stream reads (it logs
 * that too). `CC` picks another compiler.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const source = join(root, 'native', 'sockets.c');
const output = join(root, 'dist', 'native', 'sockets.node');

/** Where node_api.h is: the nodedir npm was told about, else beside this very node binary. */
function nodeHeaders(): string | undefined {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')]
    .filter((dir): dir is string => dir !== undefined && dir !== '')
    .map((dir) => join(dir, 'include', 'node'));
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
}

function main(): number {
  const headers = nodeHeaders();
  if (headers === undefined) {
    console.warn(`build-native: no Node-API headers (node_api.h) found for ${process.execPath}; echo-server will run without its native socket helper`);
    return 0;
  }
  const compiler = process.env.CC ?? 'cc';
  // macOS resolves the napi_* symbols from the node binary at load time.
  const linkFlags = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared'];
  mkdirSync(dirname(output), { recursive: true });
  const args = ['-O2', '-fPIC', '-Wall', '-Wextra', `-I${headers}`, ...linkFlags, '-o', output, source];
  const result = spawnSync(compiler, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `exit ${result.status}`;
    console.warn(`build-native: ${compiler} failed (${why}); echo-server will run without its native socket helper`);
  }
  return 0;
}

process.exitCode = main();
