/** Why a connection ended: a small fixed set, so it can be a metric label. */
export type CloseReason = 'client' | 'idle' | 'error' | 'shutdown';

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
  readonly connectionsClosed: Record<CloseReason, number> = { client: 0, idle: 0, error: 0, shutdown: 0 };
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

  connectionClosed(reason: CloseReason, seconds: number): void {
    this.connectionsActive--;
    this.connectionsClosed[reason]++;
    this.observeConnectionDuration(seconds);
  }
}
