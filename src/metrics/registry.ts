import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BLOCKED_LOOP_CAUSES, monitorStats, taskStats } from '../tasks/index.js';
import { addProcessMetrics } from './process-metrics.js';

/**
 * The counters the server keeps as plain numbers (the shape of `ServerStats`, spelled out
 * here so that metrics need not depend on the server). The data path only adds to them;
 * the registry reads them when scraped.
 */
export interface ServerCounters {
  /** Each record below: every key becomes a label value, so none can be left out. */
  readonly activeBy: Readonly<Record<string, number>>;
  readonly acceptedBy: Readonly<Record<string, number>>;
  connectionsRejected: number;
  readonly connectionsClosed: Readonly<Record<string, number>>;
  readonly tlsHandshakeFailures: Readonly<Record<string, number>>;
  readonly proxyHeaderFailures: Readonly<Record<string, number>>;
  readonly tlsReloads: Readonly<Record<string, number>>;
  bytesReceived: number;
  bytesSent: number;
  reads: number;
  backpressurePauses: number;
  /** Replaced by the duration histogram's `observe`: called once per finished connection. */
  observeConnectionDuration: (seconds: number) => void;
}

/**
 * Connection lifetimes from a loopback ping (about 1 ms) to a long-held LAN session (1 h),
 * roughly 1-2.5-5 per decade.
 */
export const CONNECTION_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600,
];

/**
 * Builds a fresh registry with the echo server's metrics and prom-client's default process
 * and Node.js metrics (see `addProcessMetrics`), in the order a scrape lists them. Counters and
 * gauges copy the plain numbers at scrape time (their `collect`), so nothing here runs per
 * message. Installs the connection duration histogram into `stats.observeConnectionDuration`,
 * the one metric observed as it happens (once per connection, not per message).
 *
 * @example
 *   const registry = createMetricsRegistry({ stats, version: '0.1.0' });
 *   const text = await registry.metrics();
 */
export function createMetricsRegistry(options: { stats: ServerCounters; version: string }): Registry {
  const { stats, version } = options;
  const registry = new Registry();
  const registers = [registry];
  addConnectionMetrics(registers, stats);
  addTrafficMetrics(registers, stats);
  addDurationHistogram(registers, stats);
  addTaskMetrics(registers);
  addBuildInfo(registers, version);
  addProcessMetrics(registry);
  return registry;
}

type Registers = Registry[];

/** A counter whose value is read from a plain number when scraped. */
function counter(registers: Registers, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge whose value is read from a plain number when scraped. */
function gauge(registers: Registers, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

/** A counter or gauge with one label, one series per key of a record read when scraped. */
function labelled(
  registers: Registers,
  Kind: typeof Counter | typeof Gauge,
  name: string,
  help: string,
  label: string,
  read: () => Readonly<Record<string, number>>,
): void {
  new Kind({
    name,
    help,
    labelNames: [label],
    registers,
    collect(this: Counter | Gauge) {
      this.reset();
      for (const [value, count] of Object.entries(read())) {
        if (this instanceof Gauge) this.set({ [label]: value }, count);
        else this.inc({ [label]: value }, count);
      }
    },
  });
}

/**
 * Connections: open, accepted, rejected, closed by reason, the setup failures (TLS handshake,
 * PROXY header) and TLS reloads.
 */
function addConnectionMetrics(registers: Registers, stats: ServerCounters): void {
  labelled(registers, Gauge, 'echo_connections_active', 'Client connections open now, by listener (plain, tls).', 'listener', () => stats.activeBy);
  labelled(registers, Counter, 'echo_connections_accepted_total', 'Client connections accepted, by listener (plain, tls).', 'listener', () => stats.acceptedBy);
  counter(
    registers,
    'echo_connections_rejected_total',
    'Client connections closed at once because --max-connections was reached.',
    () => stats.connectionsRejected,
  );
  labelled(
    registers,
    Counter,
    'echo_connections_closed_total',
    'Client connections that ended, by reason: client (it closed), idle, error, shutdown, setup (a failed TLS handshake or PROXY header).',
    'reason',
    () => stats.connectionsClosed,
  );
  labelled(
    registers,
    Counter,
    'echo_tls_handshake_failures_total',
    'TLS handshakes that failed, by reason: timeout, protocol (not TLS, or no common version or cipher), certificate, reset, other.',
    'reason',
    () => stats.tlsHandshakeFailures,
  );
  labelled(
    registers,
    Counter,
    'echo_proxy_header_failures_total',
    'PROXY protocol headers refused, by reason: missing, malformed, unsupported, timeout, untrusted (a peer not in --proxy-protocol-from).',
    'reason',
    () => stats.proxyHeaderFailures,
  );
  labelled(
    registers,
    Counter,
    'echo_tls_reloads_total',
    'TLS certificate reloads (SIGHUP), by result: ok, failed (the old certificate stays).',
    'result',
    () => stats.tlsReloads,
  );
}

/** Bytes, reads and backpressure pauses: the data path's plain counters. */
function addTrafficMetrics(registers: Registers, stats: ServerCounters): void {
  counter(registers, 'echo_received_bytes_total', 'Bytes received from clients.', () => stats.bytesReceived);
  counter(registers, 'echo_sent_bytes_total', 'Bytes written back to clients.', () => stats.bytesSent);
  counter(registers, 'echo_reads_total', 'Chunks read from client sockets.', () => stats.reads);
  counter(
    registers,
    'echo_backpressure_pauses_total',
    "Times a connection stopped reading because its socket's write buffer was full.",
    () => stats.backpressurePauses,
  );
}

/** How long connections stay open: observed once per finished connection, through `stats`. */
function addDurationHistogram(registers: Registers, stats: ServerCounters): void {
  const duration = new Histogram({
    name: 'echo_connection_duration_seconds',
    help: 'How long client connections stayed open.',
    buckets: CONNECTION_DURATION_BUCKETS,
    registers,
  });
  stats.observeConnectionDuration = (seconds) => duration.observe(seconds);
}

/** The task runtime: tasks alive, spawned, failed, and blocked-loop events by cause. */
function addTaskMetrics(registers: Registers): void {
  gauge(registers, 'echo_tasks_active', 'Tasks (coroutines) alive now.', () => taskStats.active);
  counter(registers, 'echo_tasks_spawned_total', 'Tasks spawned.', () => taskStats.spawned);
  counter(registers, 'echo_tasks_failed_total', 'Tasks that ended with an error.', () => taskStats.failed);
  new Counter({
    name: 'echo_blocked_loop_events_total',
    help:
      'Times timers ran later than --max-blocking, by cause: task (one step of one task held the loop), ' +
      'outside (held while no task ran), busy (many short steps), unscheduled (the machine ran another process instead).',
    labelNames: ['cause'],
    registers,
    collect() {
      this.reset();
      for (const cause of BLOCKED_LOOP_CAUSES) this.inc({ cause }, monitorStats.blockedLoopEvents[cause]);
    },
  });
}

/** `echo_build_info`: always 1, labelled with this build's version and Node.js's. */
function addBuildInfo(registers: Registers, version: string): void {
  new Gauge({
    name: 'echo_build_info',
    aggregator: 'first', // one build however many workers report it
    help: 'Always 1; the labels say which build is running.',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version, node_version: process.version }, 1);
}
