import { readFileSync } from 'node:fs';

/**
 * How many connections wait in the kernel's accept queue of the socket listening on
 * 127.0.0.1:`port`, read from /proc/net/tcp (for a listening socket, `rx_queue` is the accept
 * queue's length). Undefined when nothing listens there.
 *
 * @example
 *   acceptQueueLength(8090) // 20 while a stopped server leaves 20 connections unaccepted
 */
export function acceptQueueLength(port: number): number | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue ...; st 0A is LISTEN.
    if (fields[1] === local && fields[3] === '0A') return parseInt(fields[4]!.split(':')[1]!, 16);
  }
  return undefined;
}
