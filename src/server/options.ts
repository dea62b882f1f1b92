import type { Logger } from '../log.js';
import type { ProxyProtocolMode } from './proxy-protocol/index.js';
import type { Subnet } from '../parse-option.js';
import type { TlsSettings } from './tls.js';

/** How `startEchoServer` listens and treats its clients; every field has a default. */
export interface ServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `server.port`. */
  port: number;
  /** Whether to listen for plain TCP at all (false: TLS only). */
  plain: boolean;
  /** The TLS listener, beside the plain one: off while undefined. */
  tls: (TlsSettings & { port: number }) | undefined;
  /** PROXY protocol headers first on every connection: off while undefined. */
  proxy: { mode: ProxyProtocolMode; trusted: readonly Subnet[] | undefined; headerTimeoutMs: number } | undefined;
  backlog: number;
  /**
   * Share the ports with other servers that set it too (SO_REUSEPORT: the kernel spreads
   * connections over them; Linux, Node.js 22.12 or later): how `--workers` runs its copies.
   */
  reusePort: boolean;
  /** Connections past this many are closed at once and counted; 0 means no limit. */
  maxConnections: number;
  /** A connection with no traffic for this long is closed; 0 means never. */
  idleTimeoutMs: number;
  /** How long `shutdown` lets connections finish before it ends them. */
  shutdownTimeoutMs: number;
  logger?: Logger;
}

// Every default of the server, in one place: the server reads them, and so does echo-server's
// command line (src/cli/server-options.ts), whose `--help` shows these very values.

/** The defaults of `ServerOptions`. */
export const DEFAULT_SERVER_OPTIONS: Readonly<ServerOptions> = {
  host: '127.0.0.1',
  port: 8090,
  plain: true,
  tls: undefined,
  proxy: undefined,
  // Node's default is 511. A load-testing target meets connection bursts: with 10,000 clients
  // at 2,000/s, 511 overflowed (SYN retries, 1 s connects) where 4,096 did not. Linux caps it
  // at net.core.somaxconn (4,096 by default since 5.4).
  backlog: 4096,
  reusePort: false,
  maxConnections: 0,
  idleTimeoutMs: 0,
  shutdownTimeoutMs: 5000,
};

/** The TLS listener's port (`--tls-port`). */
export const DEFAULT_TLS_PORT = 8443;

/** How long a TLS client may take to finish its handshake (`TlsSettings.handshakeTimeoutMs`, `--tls-handshake-timeout`). */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** How long a PROXY header may take to arrive whole (`proxy.headerTimeoutMs`, `--proxy-header-timeout`). */
export const DEFAULT_PROXY_HEADER_TIMEOUT_MS = 5_000;
