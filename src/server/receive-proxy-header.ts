import { BlockList, isIPv4 } from 'node:net';
import type { Subnet } from '../parse-option.js';
import { withTimeout, type Operation } from '../tasks/index.js';
import type { Connection } from './connection.js';
import { INCOMPLETE, parseProxyHeader, ProxyHeaderError, type ProxyHeader, type ProxyProtocolMode } from './proxy-protocol/index.js';

/** How the server takes PROXY protocol headers (`--proxy-protocol`, `--proxy-protocol-from`). */
export interface ProxySettings {
  mode: ProxyProtocolMode;
  /** Peers allowed to send a header; any other is refused. Undefined: every peer must. */
  trusted: BlockList | undefined;
  /** A header not complete by then closes the connection (counted as `timeout`). */
  headerTimeoutMs: number;
}

/** The trusted peers (`--proxy-protocol-from`) as a BlockList (Node's subnet matcher). */
export function trustedPeers(subnets: readonly Subnet[]): BlockList {
  const list = new BlockList();
  for (const { address, prefix, family } of subnets) list.addSubnet(address, prefix, family);
  return list;
}

const TIMED_OUT = Symbol('timed out');

/**
 * The peer reset the connection before its header was complete, or so soon that the kernel no
 * longer names it (HAProxy ends its health checks with a reset, and a check may be over before
 * the server takes it). Not a header fault: the connection ends like any other reset (counted
 * as `error`), and no header failure is counted.
 */
export class PeerGoneError extends Error {
  readonly code = 'EPEERGONE';
}

/**
 * The first thing a connection does behind a proxy: take its PROXY header, within the
 * timeout, from a peer allowed to send one. The header's source becomes the connection's
 * client address (a LOCAL header, a load balancer's health check, keeps the peer's); bytes
 * after the header in the same read are given back, to be echoed like any other. Throws a
 * ProxyHeaderError, whose `reason` is its metric label, for anything else, and a PeerGoneError
 * if the peer reset the connection first.
 */
export function* receiveProxyHeader(connection: Connection, settings: ProxySettings): Operation<ProxyHeader> {
  if (settings.trusted !== undefined) {
    const peer = connection.socket.remoteAddress;
    // Unknown only once the peer is gone: getpeername fails on a reset socket.
    if (peer === undefined) throw new PeerGoneError('the peer reset the connection before its address could be checked (--proxy-protocol-from)');
    if (!isTrusted(settings.trusted, peer)) {
      throw new ProxyHeaderError('untrusted', `a PROXY header is not accepted from ${peer} (see --proxy-protocol-from)`);
    }
  }
  const ms = settings.headerTimeoutMs > 0 ? settings.headerTimeoutMs : Infinity;
  const header = yield* withTimeout(ms, readHeader(connection, settings.mode), TIMED_OUT);
  if (header === TIMED_OUT) throw new ProxyHeaderError('timeout', `no complete PROXY header within ${ms} ms`);
  const { source } = header;
  if (header.command === 'proxy' && source !== undefined && (header.family === 'tcp4' || header.family === 'tcp6')) {
    connection.setClient(source.address, source.port);
  }
  return header;
}

function* readHeader(connection: Connection, mode: ProxyProtocolMode): Operation<ProxyHeader> {
  let bytes: Buffer | undefined;
  for (;;) {
    const chunk = yield* connection.recv();
    if (chunk === null) {
      // A socket error (a reset) ended the input: the peer went away, it sent no bad header.
      if (connection.closeReason === 'error') throw new PeerGoneError('the peer reset the connection before its PROXY header was complete');
      throw new ProxyHeaderError(bytes === undefined ? 'missing' : 'malformed', 'the client closed the connection before its PROXY header was complete');
    }
    bytes = bytes === undefined ? chunk : Buffer.concat([bytes, chunk]);
    const header = parseProxyHeader(bytes, mode);
    if (header === INCOMPLETE) continue;
    if (header.length < bytes.length) connection.unread(bytes.subarray(header.length));
    return header;
  }
}

/** Whether `address` is in `list`; an IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d. */
function isTrusted(list: BlockList, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const plain = mapped ?? address;
  return list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
}
