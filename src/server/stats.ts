/** Why a connection ended: a small fixed set, so that it can be a metric label. */
export const CLOSE_REASONS = ['client', 'idle', 'error', 'shutdown'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/**
 * The server's counters, as plain numbers: the data path only ever does `stats.x += n`.
 * The metrics endpoint reads them when scraped, so watching the server costs the data path
 * nothing.
 */
export class ServerStats {
  connectionsActive = 0;
  connectionsAccepted = 0;
  /** Closed at once because `--max-connections` was reached. */
  connectionsRejected = 0;
  /** One entry per reason in `CLOSE_REASONS`: the metric reads every key, so none can be left out. */
  readonly connectionsClosed = Object.fromEntries(CLOSE_REASONS.map((reason) => [reason, 0])) as Record<CloseReason, number>;
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

  /** A connection's echo task has ended: counted once, with its reason and lifetime. */
  connectionClosed(reason: CloseReason, seconds: number): void {
    this.connectionsActive--;
    this.connectionsClosed[reason]++;
    this.observeConnectionDuration(seconds);
  }
}
