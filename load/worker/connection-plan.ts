import type tls from 'node:tls';
import type { Payloads } from './payload.js';
import type { Tally, TargetTally } from './tally.js';

/**
 * What every connection of a worker shares: what to send, where to count. Built once per
 * worker (the `Fleet`); connections only read it. `Connection` is the connection type the
 * callbacks receive (`LoadConnection`), a parameter so that this file needs no import of it.
 */
export interface LoadConnectionPlan<Connection> {
  readonly payloads: Payloads;
  readonly pipeline: number;
  /** Milliseconds between intended sends in `--rate` mode; 0 = send as echoes return. */
  readonly intervalMs: number;
  readonly connectTimeoutMs: number;
  /**
   * Every connection of a worker reads into this one buffer (`onread`): a read is verified
   * synchronously before the next can arrive, so nothing is allocated per read.
   */
  readonly readBuffer: Buffer;
  /** TLS settings, shared by every connection of the worker; undefined for plain TCP. */
  readonly tls: LoadTlsPlan | undefined;
  /** `--source`: the local addresses connections are made from, round-robin by index (`sourceOf`); empty: the kernel chooses. */
  readonly sources: readonly string[];
  /** The PROXY protocol header connection `index` sends first to `target`; undefined to send none. */
  readonly proxyHeader: ((index: number, target: LoadTarget) => Buffer) | undefined;
  readonly tally: Tally;
  /** `--connection-lifetime` in echoes (Infinity: none), and in ms (0: none), from established. */
  readonly lifetimeMessages: number;
  readonly lifetimeMs: number;
  /** `--reconnect`: a break by the server side is a disruption, and the client connects again. */
  readonly reconnect: boolean;
  /** The client's first connection is established, or failed to be. Called once per client. */
  settled(connection: Connection): void;
  /** The client has nothing left to do: its quota sent and echoed, or failed. Called once per client. */
  finished(connection: Connection): void;
  /** The connection's life ended politely (FIN sent); if it is `reopenable`, a successor may follow. */
  retired(connection: Connection): void;
  /** Under `--reconnect`: the connection was broken by the server side, or an attempt to reconnect failed. */
  disrupted(connection: Connection): void;
}

/**
 * The local address connection `index` connects from, or undefined for the kernel's choice:
 * `sources[index % sources.length]`. Connection `index` also belongs to worker `index % workers`
 * and goes to target `index % targets`, so each source carries an even share of connections
 * (within one) whatever the counts; but when the counts share a factor, one worker's (or
 * one target's) connections use only some of the sources: 2 workers and 4 sources put sources
 * 0 and 2 on worker 0, 2 targets and 2 sources send target 0 everything from source 0.
 */
export function sourceOf(plan: { readonly sources: readonly string[] }, index: number): string | undefined {
  const sources = plan.sources;
  return sources.length === 0 ? undefined : sources[index % sources.length];
}

/** Where a connection goes (one `--target`), and where its per-target figures are counted. */
export interface LoadTarget {
  /** An address. */
  readonly host: string;
  readonly port: number;
  /** Under TLS: SNI and the name the certificate must match; undefined: the address. */
  readonly servername: string | undefined;
  readonly tally: TargetTally;
}

/** A worker's TLS client settings: one secure context (CA, client certificate) for all its connections. */
export interface LoadTlsPlan {
  readonly context: tls.SecureContext;
  /** SNI and the name the server's certificate must match, unless the target has its own; undefined: the address connected to. */
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
}

/** The TLS options of one connection to `target`: the worker's context, the target's name unless the plan sets one. */
export function tlsOptions(plan: LoadTlsPlan, target: LoadTarget): tls.ConnectionOptions {
  return { secureContext: plan.context, servername: plan.servername ?? target.servername, rejectUnauthorized: plan.rejectUnauthorized };
}
