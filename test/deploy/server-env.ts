import { parseServerOptions, type CliOptions } from '../../src/cli/server-options.js';

/**
 * What echo-server makes of an environment (a Compose service's `environment:`, a container's
 * `env:`) and its arguments (none by default; those after `echo-server`): the very parser the
 * CLI runs, on that environment alone (every other ECHO_* variable of this process set aside
 * for the call). Throws as the CLI would refuse to start (an OptionError, or commander's
 * error for a bad value).
 *
 * @example
 *   expect(serverOptionsFrom({ ECHO_PORT: '8090' }).server.port).toBe(8090);
 *   expect(serverOptionsFrom({}, ['--port', '9000']).server.port).toBe(9000);
 */
export function serverOptionsFrom(env: Readonly<Record<string, string>>, args: readonly string[] = []): CliOptions {
  const saved = Object.entries(process.env).filter(([name]) => name.startsWith('ECHO_'));
  for (const [name] of saved) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return parseServerOptions(['node', 'echo-server', ...args]);
  } finally {
    for (const name of Object.keys(env)) delete process.env[name];
    for (const [name, value] of saved) process.env[name] = value;
  }
}
