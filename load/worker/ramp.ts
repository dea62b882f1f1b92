import type { Stage } from '../options/shape.js';

/**
 * `--stages` as a function of time: the number of connections the run holds `t` ms after it
 * began, linear within each stage from the previous stage's target (0 before the first) to its
 * own, and the last target after the end. Connection `i` of the run is held while the target
 * is above `i` (so a ramp up opens 0, 1, 2, ... and a ramp down closes the highest first).
 *
 * @example
 *   const ramp = new Ramp([{ durationMs: 1000, clients: 10 }]);
 *   ramp.held(500) // 5
 *   ramp.nextChange(500) // 600: when the sixth connection is due
 */
export class Ramp {
  readonly durationMs: number;
  /** Each stage as a segment: starts at `from` ms with `fromClients`. */
  private readonly segments: Array<{ from: number; to: number; fromClients: number; toClients: number }> = [];

  constructor(stages: readonly Stage[]) {
    let at = 0;
    let clients = 0;
    for (const stage of stages) {
      this.segments.push({ from: at, to: at + stage.durationMs, fromClients: clients, toClients: stage.clients });
      at += stage.durationMs;
      clients = stage.clients;
    }
    this.durationMs = at;
  }

  /** How many connections are held at `t` ms: the target, rounded down. */
  held(t: number): number {
    // A tiny allowance, so that a crossing computed by `nextChange` counts at its own instant.
    return Math.floor(this.target(t) + 1e-9);
  }

  /**
   * The first instant after `t` at which `held` changes, or Infinity once the ramp is over. A
   * caller that wakes up late reads `held` at its own time, so lateness only batches changes.
   */
  nextChange(t: number): number {
    const now = this.held(t);
    for (const segment of this.segments) {
      if (segment.to <= t) continue;
      const { from, to, fromClients, toClients } = segment;
      if (toClients === fromClients) {
        if (fromClients !== now) return Math.max(t, from);
        continue;
      }
      // Within this segment, the target reaches the next integer above `now`, or on the way
      // down falls (just) below `now`.
      const next = toClients > fromClients ? now + 1 : now - 1e-6;
      const crossing = from + ((next - fromClients) / (toClients - fromClients)) * (to - from);
      if (crossing > t && crossing <= to) return crossing;
      if (this.held(to) !== now) return Math.max(t, to);
    }
    return Infinity;
  }

  private target(t: number): number {
    for (const segment of this.segments) {
      if (t < segment.to) {
        if (t <= segment.from) return segment.fromClients;
        const share = (t - segment.from) / (segment.to - segment.from);
        return segment.fromClients + (segment.toClients - segment.fromClients) * share;
      }
    }
    return this.segments.at(-1)?.toClients ?? 0;
  }
}
