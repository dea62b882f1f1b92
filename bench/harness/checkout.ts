/**
 * A built checkout of this project and the two programs it ships, found through its
 * package.json's `bin` (the one place that names them): this checkout's for every benchmark,
 * and with `--baseline` another one's beside them, so that before and after a change are
 * measured in the same run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A checkout's directory and its built programs (absolute paths). */
export interface Checkout {
  root: string;
  echoServer: string;
  echoLoad: string;
}

/**
 * The checkout at `directory`; throws an Error whose message is one line saying what is
 * missing (no package.json, not this project's, not built).
 *
 * @example
 *   const before = checkout('/tmp/bench-base'); // before.echoServer: /tmp/bench-base/dist/src/cli/echo-server.js
 */
export function checkout(directory: string): Checkout {
  const root = resolve(directory);
  const manifest = join(root, 'package.json');
  let bin: Record<string, string> | undefined;
  try {
    bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> }).bin;
  } catch {
    throw new Error(`${root}: no readable package.json there (want a checkout of echo)`);
  }
  const program = (name: string) => {
    const path = bin?.[name];
    if (path === undefined) throw new Error(`${manifest} names no '${name}' in bin (not a checkout of echo?)`);
    const full = join(root, path);
    if (!existsSync(full)) throw new Error(`${root} is not built: no ${path} (run npm run build there)`);
    return full;
  };
  return { root, echoServer: program('echo-server'), echoLoad: program('echo-load') };
}

/** This checkout: the benchmarks run from its dist/bench/. */
export const THIS_CHECKOUT = checkout(fileURLToPath(new URL('../../../', import.meta.url)));
export const ECHO_SERVER = THIS_CHECKOUT.echoServer;
export const ECHO_LOAD = THIS_CHECKOUT.echoLoad;

/**
 * The checkout that `--baseline DIR` names, or undefined without the option; a bad one is an
 * Error whose one line names the option.
 *
 * @example
 *   baselineCheckout('/nonexistent') // throws: --baseline /nonexistent: no readable package.json there ...
 */
export function baselineCheckout(directory: string | undefined): Checkout | undefined {
  if (directory === undefined) return undefined;
  try {
    return checkout(directory);
  } catch (error) {
    throw new Error(`--baseline ${(error as Error).message}`);
  }
}
