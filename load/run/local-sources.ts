import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { OptionError } from '../../src/parse-option.js';

/** Sources checked at once: each check holds one UDP socket for a moment. */
const BATCH = 256;

/**
 * Checks, before any connection is made, that each `--source` address is one of this
 * machine's: each is bound once, to a UDP socket on port 0 (closed at once), which fails with
 * EADDRNOTAVAIL where a TCP bind would, without taking a TCP port. A source that is not local
 * is an `OptionError` naming it: otherwise every connection from it would fail with the same
 * EADDRNOTAVAIL, each counted apart.
 *
 * @example
 *   await checkLocalSources(['127.0.0.2', '192.0.2.1']) // OptionError: --source 192.0.2.1 is not an address of this machine (EADDRNOTAVAIL)
 */
export async function checkLocalSources(sources: readonly string[]): Promise<void> {
  for (let at = 0; at < sources.length; at += BATCH) {
    const failures = await Promise.all(sources.slice(at, at + BATCH).map(bindOnce));
    const failed = failures.findIndex((code) => code !== undefined);
    if (failed < 0) continue;
    const address = sources[at + failed]!;
    const code = failures[failed]!;
    if (code === 'EADDRNOTAVAIL') throw new OptionError(`--source ${address} is not an address of this machine (EADDRNOTAVAIL)`);
    throw new OptionError(`--source ${address} cannot be bound (${code})`);
  }
}

/** Binds a UDP socket to `address` and closes it; resolves with the error code, if any. */
function bindOnce(address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code ?? 'ERROR');
    });
    socket.bind({ address, port: 0 }, () => socket.close(() => resolve(undefined)));
  });
}
