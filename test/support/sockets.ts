import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * TCP sockets as the kernel reports them (`ss -tan`, with `-p` the processes holding them): a
 * row per socket with its state, `Recv-Q` and `Send-Q`, local and peer port. For a listening
 * socket `Send-Q` is its backlog (after the kernel's cap, `somaxconn`); for a connected one it
 * is the bytes the kernel still holds to send (sent but not acknowledged, or not sent yet).
 */
async function tcpSockets(): Promise<Array<{ state: string; sendQueue: number; port: number; peerPort: number; line: string }>> {
  // Not spawnSync: a test's own event loop (its clients) must not stall while ss runs.
  const { stdout } = await run('ss', ['-tanpH'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // State Recv-Q Send-Q Local:Port Peer:Port [users:(...)]
      const fields = line.trim().split(/\s+/);
      const port = (address: string) => Number(address.split(':').pop());
      return { state: fields[0]!, sendQueue: Number(fields[2]), port: port(fields[3]!), peerPort: port(fields[4]!), line };
    });
}

/**
 * The TCP ports process `pid` listens on.
 *
 * @example
 *   await listeningPorts(server.child.pid!) // [41234] for an echo-server with --no-metrics
 */
export async function listeningPorts(pid: number): Promise<number[]> {
  return (await tcpSockets())
    .filter((socket) => socket.state === 'LISTEN' && socket.line.includes(`pid=${pid},`))
    .map((socket) => socket.port);
}

/**
 * The backlog of the socket listening on `port` (any address), or undefined if none does.
 *
 * @example
 *   await listenBacklog(server.port) // 123 for echo-server --backlog 123
 */
export async function listenBacklog(port: number): Promise<number | undefined> {
  return (await tcpSockets()).find((socket) => socket.state === 'LISTEN' && socket.port === port)?.sendQueue;
}

/**
 * How many bytes the kernel still holds to send on the connection from local `port` to
 * `peerPort` (whatever its state: a closed socket keeps sending what it holds), or undefined
 * once it is gone.
 *
 * @example
 *   await sendQueue(server.port, client.localPort!) // 1048576 while a client has not read its echo
 */
export async function sendQueue(port: number, peerPort: number): Promise<number | undefined> {
  return (await connectionSocket(port, peerPort))?.sendQueue;
}

/**
 * The TCP state (`ss` spells it: ESTAB, CLOSE-WAIT, ...) of the connection from local `port`
 * to `peerPort`, or undefined once it is gone.
 *
 * @example
 *   await socketState(server.port, client.localPort!) // 'CLOSE-WAIT' once the client's FIN came
 */
export async function socketState(port: number, peerPort: number): Promise<string | undefined> {
  return (await connectionSocket(port, peerPort))?.state;
}

/** The connection from local `port` to `peerPort`, as `ss` lists it. */
async function connectionSocket(port: number, peerPort: number) {
  return (await tcpSockets()).find((socket) => socket.state !== 'LISTEN' && socket.port === port && socket.peerPort === peerPort);
}

/**
 * The established connections to local `port` (the server's ends), counted by the peer's
 * address: how many each client address holds. The kernel filters them (`ss` with a port
 * expression), so tens of thousands of other sockets cost nothing; connections still waiting
 * in the accept queue are established too, and counted.
 *
 * @example
 *   await establishedByPeer(server.port) // Map { '127.0.0.2' => 3000, '127.0.0.3' => 3000 }
 */
export async function establishedByPeer(port: number): Promise<Map<string, number>> {
  const { stdout } = await run('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const byPeer = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    // Recv-Q Send-Q Local:Port Peer:Port (no state column: one state was asked for)
    const peer = line.trim().split(/\s+/)[3];
    if (peer === undefined) continue;
    const address = peer.slice(0, peer.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    byPeer.set(address, (byPeer.get(address) ?? 0) + 1);
  }
  return byPeer;
}
