import net from 'node:net';

/** How long one probe may take to connect before the next address is tried. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Of the addresses a host name resolved to, the first that accepts a TCP connection on `port`,
 * tried in order. `localhost` often resolves to ::1 first while the server listens on
 * 127.0.0.1 only: taking the first address blindly would make every connection fail. A probe
 * is one connection, closed at once; a single address is taken without one. When no address
 * accepts, the first is returned, so the run counts the failure as it counts any other.
 *
 * @example
 *   await firstReachable(['::1', '127.0.0.1'], 8090) // '127.0.0.1' when only IPv4 listens
 */
export async function firstReachable(addresses: readonly string[], port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<string> {
  const [first] = addresses;
  if (first === undefined) throw new RangeError('firstReachable: no addresses');
  if (addresses.length === 1) return first;
  for (const address of addresses) {
    if (await accepts(address, port, timeoutMs)) return address;
  }
  return first;
}

/** Whether `address:port` accepts a connection within `timeoutMs`; the connection is closed at once. */
function accepts(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const settle = (accepted: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(accepted);
    };
    socket.on('error', () => settle(false));
    socket.once('connect', () => settle(true));
    const timer = setTimeout(() => settle(false), timeoutMs);
  });
}
