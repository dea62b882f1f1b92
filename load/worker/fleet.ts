import { isIPv6 } from 'node:net';
import type { LoadConnectionPlan, LoadTarget, LoadTlsPlan } from './connection-plan.js';
import { LoadConnection, RECONNECT_BACKOFF_MAX_MS } from './load-connection.js';
import type { WorkerConfig, WorkerMessage } from '../run/messages.js';
import { buildPayloads, READ_BUFFER_SIZE } from './payload.js';
import { encodeProxyHeader, proxyClient } from './proxy-header.js';
import { createTlsPlan } from '../options/tls-options.js';
import { Ramp } from './ramp.js';
import { SHARED_SLOTS, Tally } from './tally.js';
import { IntervalRecorder } from './interval-recorder.js';

/** Connections opened per event-loop turn when many are due at once. */
const OPEN_BATCH = 256;
/** How long a stopped connection may take to close politely before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/**
 * All the connections one worker drives, and how they come and go (the run's shape, see
 * load/options/shape.ts): held ones opened at once, in batches, or on the `--connect-rate`
 * schedule; under `--stages` opened and closed as the ramp says; under `--arrival-rate` a new
 * one at each arrival. The `--idle` pool opens at the start beside them. It watches for echoes
 * that take longer than `--timeout`, opens a connection's successor when a lifetime ends or the
 * server side breaks it (`--reconnect`, after a backoff), and at the end collects the worker's
 * result. It runs in a worker thread, or in-process in tests.
 *
 * Connection `i` of the run belongs to worker `i % workers`, at position `(i - worker) /
 * workers` of its `clients`: the active clients first, then the idle pool, then (under
 * `--arrival-rate`) one position per arrival.
 *
 * @example
 *   const fleet = new Fleet(config, (message) => parentPort.postMessage(message));
 *   fleet.start(performance.timeOrigin + performance.now());
 */
export class Fleet implements LoadConnectionPlan<LoadConnection> {
  readonly payloads;
  readonly pipeline: number;
  readonly intervalMs: number;
  readonly connectTimeoutMs: number;
  readonly lifetimeMessages: number;
  readonly lifetimeMs: number;
  readonly reconnect: boolean;
  readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  readonly tls: LoadTlsPlan | undefined;
  readonly sources: readonly string[];
  readonly proxyHeader: ((index: number, target: LoadTarget) => Buffer) | undefined;
  readonly tally: Tally;
  readonly targets: LoadTarget[];
  /** This worker's clients by position (see the class comment); an arrival's slot empties when it is over. */
  private readonly clients: Array<LoadConnection | undefined> = [];
  /** Connections whose life ended politely, until their socket closes. */
  private readonly closing = new Set<LoadConnection>();
  private readonly reconnectTimers = new Set<NodeJS.Timeout>();
  private readonly ramp: Ramp | undefined;
  /** Positions of the active clients, and of the idle pool: [0, active), [active, active + idle). */
  private readonly active: number;
  private readonly idleEnd: number;
  /** The run's first arrival index: past every held and idle connection of every worker. */
  private readonly arrivalBase: number;
  private readonly intervals: IntervalRecorder;

  private unsettled = 0;
  private unfinished = 0;
  private nextToOpen = 0;
  /** Under `--stages`: clients at positions [0, rampHeld) are held. */
  private rampHeld = 0;
  private arrivals = 0;
  private nextArrivalAt = 0;
  private startedAt = 0;
  private openTimer: NodeJS.Timeout | undefined;
  private openImmediate: NodeJS.Immediate | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly config: WorkerConfig,
    private readonly emit: (message: WorkerMessage) => void,
  ) {
    const { shape, worker, workers, clients, messages } = config;
    this.payloads = buildPayloads(config.payload, config.pipeline);
    this.pipeline = config.pipeline;
    this.intervalMs = config.rate > 0 ? 1000 / config.rate : 0;
    this.connectTimeoutMs = config.connectTimeoutMs;
    this.lifetimeMessages = shape.lifetime?.messages ?? Infinity;
    this.lifetimeMs = shape.lifetime?.ms ?? 0;
    this.reconnect = shape.reconnect;
    this.tls = config.tls === undefined ? undefined : createTlsPlan(config.tls);
    this.sources = config.sources;
    const version = config.proxyProtocol;
    if (version !== 0) {
      // The real destination, and a client of the same family made up for each connection.
      this.proxyHeader = (index, target) => encodeProxyHeader(version, proxyClient(index, isIPv6(target.host)), { address: target.host, port: target.port });
    }
    this.tally = new Tally(new Float64Array(config.counters), worker * SHARED_SLOTS, config.targets.length);
    this.targets = config.targets.map((target, i) => ({ ...target, tally: this.tally.targets[i]! }));
    this.intervals = new IntervalRecorder(this.tally, config.intervalLengthMs, (interval) => emit({ type: 'interval', interval }));
    this.ramp = shape.stages === undefined ? undefined : new Ramp(shape.stages);
    // Under --arrival-rate, `clients` is 0: every active connection is an arrival.
    const activeSlots = shape.arrivalRate > 0 ? 0 : clients;
    for (let index = worker; index < activeSlots; index += workers) {
      // `--messages` is a total: connection i sends its even share, the first ones one more.
      const quota = messages === undefined ? Infinity : Math.floor(messages / clients) + (index < messages % clients ? 1 : 0);
      const phase = (index / clients) * this.intervalMs;
      this.clients.push(new LoadConnection(this, this.targetOf(index), index, quota, phase));
    }
    this.active = this.clients.length;
    const idleBase = Math.ceil(activeSlots / workers) * workers;
    for (let index = idleBase + worker; index < idleBase + shape.idle; index += workers) {
      this.clients.push(new LoadConnection(this, this.targetOf(index), index, 0, 0, true));
    }
    this.idleEnd = this.clients.length;
    this.arrivalBase = Math.ceil((idleBase + shape.idle) / workers) * workers;
    this.unsettled = this.clients.length;
    this.unfinished = this.active;
  }

  /**
   * Opens the connections and starts watching for timeouts. `startsAt` is the run's start (see
   * `MainMessage`), not this thread's: under a connect rate, a ramp or an arrival rate,
   * connection i is due at the same instant on whichever worker it is, so the workers'
   * connects interleave evenly.
   */
  start(startsAt: number): void {
    this.startedAt = startsAt - performance.timeOrigin;
    this.nextToOpen = this.active;
    this.openIdle();
    if (this.config.shape.arrivalRate > 0) {
      this.nextArrivalAt = this.arrivalTime(0);
      this.arriveDue();
    } else if (this.ramp !== undefined) {
      this.followRamp();
    } else {
      this.nextToOpen = 0;
      this.openDue();
    }
    const timeoutMs = this.config.timeoutMs;
    if (timeoutMs > 0) {
      // Four checks per timeout period: a timeout is seen at most a quarter period late.
      const every = Math.min(250, Math.max(10, timeoutMs / 4));
      this.scanTimer = setInterval(() => {
        const now = performance.now();
        for (const connection of this.clients) connection?.checkTimeout(now, timeoutMs);
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

  finished(connection: LoadConnection): void {
    if (connection.silent) return;
    if (this.isArrival(connection)) {
      this.clients[this.position(connection)] = undefined;
      return;
    }
    if (--this.unfinished === 0 && !this.stopped) this.emit({ type: 'done' });
  }

  retired(connection: LoadConnection): void {
    this.closing.add(connection);
    void connection.whenClosed().then(() => this.closing.delete(connection));
    if (this.stopped) return;
    // An arrival lives once; a held client's successor takes its place while the shape wants it.
    if (this.isArrival(connection)) this.clients[this.position(connection)] = undefined;
    else if (connection.wanted) this.succeed(connection);
  }

  disrupted(connection: LoadConnection): void {
    if (this.stopped) return;
    // Jittered (0.5 to 1.5 times the backoff), so that the clients a restart broke do not all
    // come back in the same instant; the backoff doubles with each attempt that fails.
    const wait = connection.backoffMs * (0.5 + Math.random());
    connection.backoffMs = Math.min(connection.backoffMs * 2, RECONNECT_BACKOFF_MAX_MS);
    const timer = setTimeout(() => {
      this.reconnectTimers.delete(timer);
      if (!this.stopped && connection.wanted) this.succeed(connection);
    }, wait);
    this.reconnectTimers.add(timer);
  }

  /** Stops sending, reports the result, then closes every connection (politely, with a deadline). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    let held = 0;
    let idle = 0;
    const heldPerTarget = this.targets.map(() => 0);
    for (const connection of this.clients) {
      if (connection === undefined || !connection.healthy) continue;
      if (connection.silent) {
        idle++;
        continue;
      }
      held++;
      heldPerTarget[connection.index % this.targets.length]!++;
    }
    const all = [...this.clients.filter((connection) => connection !== undefined), ...this.closing];
    for (const connection of all) connection.stop();
    // Stopped before the measured window began (SIGINT during warm-up): nothing was measured.
    if (!this.tally.measuring) this.tally.startMeasuring();
    this.intervals.stop();
    this.emit({
      type: 'result',
      counts: this.tally.counts(held, idle),
      histograms: this.tally.encodeHistograms(),
      targets: this.tally.targets.map((target, i) => target.counts(heldPerTarget[i]!)),
      notes: this.tally.notes,
    });
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all.map((connection) => connection.whenClosed())),
      new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(grace);
    for (const connection of all) connection.destroy();
  }

  private targetOf(index: number): LoadTarget {
    return this.targets[index % this.targets.length]!;
  }

  private position(connection: LoadConnection): number {
    return (connection.index - this.config.worker) / this.config.workers;
  }

  private isArrival(connection: LoadConnection): boolean {
    return connection.index >= this.arrivalBase && this.config.shape.arrivalRate > 0;
  }

  /** The client's next connection takes its place, and opens. */
  private succeed(connection: LoadConnection): void {
    if (!connection.reopenable) return;
    const next = connection.successor();
    this.clients[this.position(connection)] = next;
    next.open();
  }

  /** Held clients: opens those that are due (all at once in batches, or at `--connect-rate`). */
  private openDue(): void {
    this.openTimer = this.openImmediate = undefined;
    if (this.stopped) return;
    const rate = this.config.connectRate;
    const now = performance.now();
    let opened = 0;
    while (this.nextToOpen < this.active) {
      const connection = this.clients[this.nextToOpen]!;
      let due = now;
      if (rate > 0) {
        due = this.startedAt + (connection.index * 1000) / rate;
        if (due > now) {
          this.openTimer = setTimeout(() => this.openDue(), due - now);
          return;
        }
      } else if (opened === OPEN_BATCH) {
        // Let the connects already started make progress before starting more.
        this.openImmediate = setImmediate(() => this.openDue());
        return;
      }
      connection.open(due);
      this.nextToOpen++;
      opened++;
    }
  }

  /** The `--idle` pool: all at the start, in batches. */
  private openIdle(position = this.active): void {
    if (this.stopped) return;
    const end = Math.min(this.idleEnd, position + OPEN_BATCH);
    for (let p = position; p < end; p++) this.clients[p]!.open();
    if (end < this.idleEnd) setImmediate(() => this.openIdle(end));
  }

  /**
   * `--stages`: holds as many clients as the ramp says now (opening the lowest positions
   * first, at most a batch per turn; releasing the highest), then sleeps until it changes.
   */
  private followRamp(): void {
    this.openTimer = this.openImmediate = undefined;
    if (this.stopped) return;
    const ramp = this.ramp!;
    const { worker, workers } = this.config;
    const t = performance.now() - this.startedAt;
    // This worker's clients i = worker + workers * p are held while i < ramp.held(t).
    const want = Math.min(this.active, Math.max(0, Math.ceil((ramp.held(t) - worker) / workers)));
    let opened = 0;
    while (this.rampHeld < want) {
      if (opened === OPEN_BATCH) {
        this.openImmediate = setImmediate(() => this.followRamp());
        return;
      }
      const connection = this.clients[this.rampHeld++]!;
      connection.wanted = true;
      if (connection.socket === undefined) connection.open();
      else this.succeed(connection);
      opened++;
    }
    while (this.rampHeld > want) this.clients[--this.rampHeld]!.release();
    const next = ramp.nextChange(t);
    if (next !== Infinity) this.openTimer = setTimeout(() => this.followRamp(), next - t);
  }

  /** `--arrival-rate`: opens every arrival that is due, each a new client that lives once. */
  private arriveDue(): void {
    this.openTimer = this.openImmediate = undefined;
    if (this.stopped) return;
    const { worker, workers } = this.config;
    const now = performance.now();
    let opened = 0;
    while (this.nextArrivalAt <= now) {
      if (opened === OPEN_BATCH) {
        this.openImmediate = setImmediate(() => this.arriveDue());
        return;
      }
      const index = this.arrivalBase + this.arrivals * workers + worker;
      const connection = new LoadConnection(this, this.targetOf(index), index, this.lifetimeMessages, 0);
      this.clients[this.position(connection)] = connection;
      connection.open(this.nextArrivalAt);
      this.arrivals++;
      this.nextArrivalAt = this.arrivalTime(this.arrivals);
      opened++;
    }
    this.openTimer = setTimeout(() => this.arriveDue(), this.nextArrivalAt - now);
  }

  /**
   * When this worker's arrival `n` is due (performance.now() time). Uniform: arrival k of the
   * run is due at k / rate, and this worker takes every `workers`-th. Poisson: each worker is
   * a Poisson process of rate / workers (exponential gaps), and together they are one of the
   * whole rate.
   */
  private arrivalTime(n: number): number {
    const { shape, worker, workers } = this.config;
    if (shape.arrivals === 'uniform') return this.startedAt + ((n * workers + worker) * 1000) / shape.arrivalRate;
    const from = n === 0 ? this.startedAt : this.nextArrivalAt;
    return from - (Math.log(1 - Math.random()) * 1000 * workers) / shape.arrivalRate;
  }

  private clearTimers(): void {
    clearInterval(this.scanTimer);
    clearTimeout(this.openTimer);
    clearImmediate(this.openImmediate);
    for (const timer of this.reconnectTimers) clearTimeout(timer);
  }
}
