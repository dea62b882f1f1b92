/**
 * Where `--workers` can run: every worker listens on the same port with SO_REUSEPORT, which
 * Node.js offers (`listen({ reusePort: true })`) from 22.12 and 23.1 on, and only on Linux
 * among the platforms this project runs on (elsewhere the kernel does not spread connections
 * over the listeners, or Node refuses the option).
 *
 * @example
 *   supportsReusePort('20.20.2', 'linux')   // false
 *   supportsReusePort('22.22.0', 'linux')   // true
 */
export function supportsReusePort(version = process.versions.node, platform: string = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return platform === 'linux' && (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12));
}
