import { PROXY_HEADER_FAILURES } from './proxy-protocol/index.js';

/** Why a connection ended: a small fixed set, so that it can be a metric label. */
export const CLOSE_REASONS = ['client', 'idle', 'error', 'shutdown', 'setup'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** The listeners a connection can come from. */
export const LISTENERS = ['plain', 'tls'] as const;
export type ListenerName = (typeof LISTENERS)[number];

/** Why a TLS handshake failed (`echo_tls_handshake_failures_total{reason}`). */
export const TLS_HANDSHAKE_FAILURES = ['timeout', 'protocol', 'certificate', 'reset', 'other'] as const;
export type TlsHandshakeFailure = (typeof TLS_HANDSHAKE_FAILURES)[number];

export { PROXY_HEADER_FAILURES, type ProxyHeaderFailure } from './proxy-protocol/index.js';

/** A counter per value of a fixed set, all present from the start (every label value is exported). */
function tally<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

/**
 * The server's counters, as plain numbers: the data path only ever does `stats.x += n`.
 * The metrics endpoint reads them when scraped, so watching the server costs the data path
 * nothing. Each record has one entry per value of its fixed set, and the metrics read every
 * key, so a new value cannot be left out of its metric.
 */
export class ServerStats {
  /** Connections accepted and open now, by the listener they came from. */
  readonly acceptedBy = tally(LISTENERS);
  readonly activeBy = tally(LISTENERS);
  /** Closed at once because `--max-connections` was reached. */
  connectionsRejected = 0;
  readonly connectionsClosed = tally(CLOSE_REASONS);
  readonly tlsHandshakeFailures = tally(TLS_HANDSHAKE_FAILURES);
  readonly proxyHeaderFailures = tally(PROXY_HEADER_FAILURES);
  /** Certificate reloads (SIGHUP) that took effect, and those that kept the old certificate. */
  readonly tlsReloads = { ok: 0, failed: 0 };
  bytesReceived = 0;
  bytesSent = 0;
  reads = 0;
  /** Times a connection stopped reading because its socket's write buffer was full. */
  backpressurePauses = 0;

  /**
   * Receives each finished connection's lifetime in seconds. A no-op until the metrics module
   * installs a histogram: decided once at start-up, not checked per connection.
   */
  observeConnectionDuration: (seconds: number) => void = () => {};

  /** Connections accepted so far, from every listener. */
  get connectionsAccepted(): number {
    return this.acceptedBy.plain + this.acceptedBy.tls;
  }

  /** Connections open now, from every listener. */
  get connectionsActive(): number {
    return this.activeBy.plain + this.activeBy.tls;
  }

  /** A connection's task has ended: counted once, with its reason and lifetime. */
  connectionClosed(listener: ListenerName, reason: CloseReason, seconds: number): void {
    this.activeBy[listener]--;
    this.connectionsClosed[reason]++;
    this.observeConnectionDuration(seconds);
  }
}
