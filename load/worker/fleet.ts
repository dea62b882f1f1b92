import { isIPv6 } from 'node:net';
import type { LoadConnectionPlan, LoadTarget, LoadTlsPlan } from './connection-plan.js';
import { LoadConnection } from './load-connection.js';
import type { WorkerConfig, WorkerMessage } from '../run/messages.js';
import { buildPayloads, READ_BUFFER_SIZE } from './payload.js';
import { encodeProxyHeader, proxyClient } from './proxy-header.js';
import { createTlsPlan } from '../options/tls-options.js';
import { SHARED_SLOTS, Tally } from './tally.js';
import { IntervalRecorder } from './interval-recorder.js';

/** Connections opened per event-loop turn when there is no `--connect-rate`. */
const OPEN_BATCH = 256;
/** How long a stopped connection may take to close politely before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/**
 * All the connections one worker drives: it opens them (at once, in batches, or on the
 * `--connect-rate` schedule), watches for echoes that take longer than `--timeout`, and at
 * the end collects the worker's result. It runs in a worker thread, or in-process in tests.
 *
 * @example
 *   const fleet = new Fleet(config, (message) => parentPort.postMessage(message));
 *   fleet.start();
 */
export class Fleet implements LoadConnectionPlan<LoadConnection> {
  readonly payloads;
  readonly pipeline: number;
  readonly intervalMs: number;
  readonly connectTimeoutMs: number;
  readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  readonly tls: LoadTlsPlan | undefined;
  readonly proxyHeader: ((index: number, target: LoadTarget) => Buffer) | undefined;
  readonly tally: Tally;
  readonly targets: LoadTarget[];
  readonly connections: LoadConnection[] = [];
  private readonly intervals: IntervalRecorder;

  private unsettled = 0;
  private unfinished = 0;
  private nextToOpen = 0;
  private startedAt = 0;
  private openTimer: NodeJS.Timeout | undefined;
  private openImmediate: NodeJS.Immediate | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly config: WorkerConfig,
    private readonly emit: (message: WorkerMessage) => void,
  ) {
    this.payloads = buildPayloads(config.payload, config.pipeline);
    this.pipeline = config.pipeline;
    this.intervalMs = config.rate > 0 ? 1000 / config.rate : 0;
    this.connectTimeoutMs = config.connectTimeoutMs;
    this.tls = config.tls === undefined ? undefined : createTlsPlan(config.tls);
    const version = config.proxyProtocol;
    if (version !== 0) {
      // The real destination, and a client of the same family made up for each connection.
      this.proxyHeader = (index, target) => encodeProxyHeader(version, proxyClient(index, isIPv6(target.host)), { address: target.host, port: target.port });
    }
    this.tally = new Tally(new Float64Array(config.counters), config.worker * SHARED_SLOTS, config.targets.length);
    this.targets = config.targets.map((target, i) => ({ ...target, tally: this.tally.targets[i]! }));
    this.intervals = new IntervalRecorder(this.tally, config.intervalLengthMs, (interval) => emit({ type: 'interval', interval }));
    const { clients, messages } = config;
    for (let index = config.worker; index < clients; index += config.workers) {
      // `--messages` is a total: connection i sends its even share, the first ones one more.
      const quota = messages === undefined ? Infinity : Math.floor(messages / clients) + (index < messages % clients ? 1 : 0);
      const phase = (index / clients) * this.intervalMs;
      this.connections.push(new LoadConnection(this, this.targets[index % this.targets.length]!, index, quota, phase));
    }
    this.unsettled = this.unfinished = this.connections.length;
  }

  /**
   * Opens the connections and starts watching for timeouts. `startsAt` is the run's start (see
   * `MainMessage`), not this thread's: under --connect-rate, connection i is due at the same
   * instant on whichever worker it is, so the workers' connects interleave evenly.
   */
  start(startsAt: number): void {
    this.startedAt = startsAt - performance.timeOrigin;
    this.openDue();
    const timeoutMs = this.config.timeoutMs;
    if (timeoutMs > 0) {
      // Four checks per timeout period: a timeout is seen at most a quarter period late.
      const every = Math.min(250, Math.max(10, timeoutMs / 4));
      this.scanTimer = setInterval(() => {
        const now = performance.now();
        for (const connection of this.connections) connection.checkTimeout(now, timeoutMs);
      }, every);
    }
    if (this.config.measureFromStart) this.tally.startMeasuring();
    this.intervals.start(startsAt);
  }

  /** The measured window starts now. */
  measure(): void {
    this.tally.startMeasuring();
  }

  settled(): void {
    if (--this.unsettled === 0 && !this.stopped) this.emit({ type: 'ready' });
  }

  finished(): void {
    if (--this.unfinished === 0 && !this.stopped) this.emit({ type: 'done' });
  }

  /** Stops sending, reports the result, then closes every connection (politely, with a deadline). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    let held = 0;
    const heldPerTarget = this.targets.map(() => 0);
    for (const connection of this.connections) {
      if (!connection.healthy) continue;
      held++;
      heldPerTarget[connection.index % this.targets.length]!++;
    }
    for (const connection of this.connections) connection.stop();
    // Stopped before the measured window began (SIGINT during warm-up): nothing was measured.
    if (!this.tally.measuring) this.tally.startMeasuring();
    this.intervals.stop();
    this.emit({
      type: 'result',
      counts: this.tally.counts(held),
      histograms: this.tally.encodeHistograms(),
      targets: this.tally.targets.map((target, i) => target.counts(heldPerTarget[i]!)),
      notes: this.tally.notes,
    });
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.connections.map((connection) => connection.whenClosed())),
      new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(grace);
    for (const connection of this.connections) connection.destroy();
  }

  private openDue(): void {
    this.openTimer = this.openImmediate = undefined;
    if (this.stopped) return;
    const rate = this.config.connectRate;
    const now = performance.now();
    let opened = 0;
    while (this.nextToOpen < this.connections.length) {
      const connection = this.connections[this.nextToOpen]!;
      if (rate > 0) {
        const due = this.startedAt + (connection.index * 1000) / rate;
        if (due > now) {
          this.openTimer = setTimeout(() => this.openDue(), due - now);
          return;
        }
      } else if (opened === OPEN_BATCH) {
        // Let the connects already started make progress before starting more.
        this.openImmediate = setImmediate(() => this.openDue());
        return;
      }
      connection.open();
      this.nextToOpen++;
      opened++;
    }
  }

  private clearTimers(): void {
    clearInterval(this.scanTimer);
    clearTimeout(this.openTimer);
    clearImmediate(this.openImmediate);
  }
}
