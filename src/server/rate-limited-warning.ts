import type { Logger } from '../log.js';

/** At most one warning line per interval for a repeating condition, carrying the count. */
export class RateLimitedWarning {
  private count = 0;
  private lastLogAt = -Infinity;

  constructor(
    private readonly logger: Logger | undefined,
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  /** Counts one occurrence; logs it (with those suppressed since the last line) if due. */
  hit(details: Record<string, unknown>): void {
    this.count++;
    const now = performance.now();
    if (now - this.lastLogAt < this.intervalMs) return;
    this.lastLogAt = now;
    this.logger?.warn({ ...details, occurrences: this.count }, this.message);
    this.count = 0;
  }

  /** Logs the occurrences not reported yet, if any (at shutdown). */
  flush(): void {
    if (this.count === 0) return;
    this.logger?.warn({ occurrences: this.count }, this.message);
    this.count = 0;
  }
}
