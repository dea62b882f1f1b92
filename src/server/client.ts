import type { Operation } from '../tasks/index.js';
import type { Connection } from './connection.js';
import { echo } from './echo.js';
import { ProxyHeaderError } from './proxy-protocol.js';
import { PeerGoneError, receiveProxyHeader, type ProxySettings } from './receive-proxy-header.js';
import type { ServerStats } from './stats.js';
import { startTls, TlsHandshakeError, type TlsEndpoint } from './tls.js';

/** What a connection goes through before its echo begins, as the server was started. */
export interface ClientSetup {
  /** Take a PROXY header first (on the raw connection, before any TLS). */
  proxy: ProxySettings | undefined;
  /** Then a TLS handshake: set for connections to the TLS listener. */
  tls: TlsEndpoint | undefined;
  /** One line per connection at `debug` (open, with client and peer; close, with why); a no-op otherwise. */
  trace: (event: 'open' | 'close', connection: Connection, details?: Record<string, unknown>) => void;
}

/**
 * One client's task: it owns its connection from accept to close. First the set-up the
 * server asks for (a PROXY header, a TLS handshake), then the echo loop of docs/lesson.md. Whatever
 * ends it (the client leaving, an error, a failed set-up, a kill at shutdown), `finally`
 * closes the socket and waits until it is closed, and the connection is counted once, with
 * why it ended and how long it lived. A failed set-up is counted by its own reason too.
 */
export function* serveClient(connection: Connection, stats: ServerStats, setup: ClientSetup): Operation<void> {
  const openedAt = performance.now();
  stats.activeBy[connection.listener]++;
  let failure: string | undefined;
  try {
    if (setup.proxy !== undefined) yield* receiveProxyHeader(connection, setup.proxy);
    if (setup.tls !== undefined) yield* startTls(connection, setup.tls);
    setup.trace('open', connection);
    yield* echo(connection);
  } catch (error) {
    if (error instanceof ProxyHeaderError) stats.proxyHeaderFailures[error.reason]++;
    else if (error instanceof TlsHandshakeError) stats.tlsHandshakeFailures[error.reason]++;
    else if (!(error instanceof PeerGoneError)) throw error;
    failure = error.message;
    // A peer gone during set-up is a reset like one during the echo, not a set-up fault.
    connection.abort(error instanceof PeerGoneError ? 'error' : 'setup');
  } finally {
    try {
      yield* connection.close();
    } finally {
      // Counted even if the task is killed while it waits for the close.
      const seconds = (performance.now() - openedAt) / 1000;
      stats.connectionClosed(connection.listener, connection.closeReason, seconds);
      setup.trace('close', connection, { reason: connection.closeReason, durationMs: Math.round(seconds * 1000), ...(failure === undefined ? {} : { failure }) });
    }
  }
}
