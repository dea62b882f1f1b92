/** Which header versions a listener accepts (`any`: both, told apart by their first byte). */
export const PROXY_PROTOCOL_MODES = ['v1', 'v2', 'any'] as const;
export type ProxyProtocolMode = (typeof PROXY_PROTOCOL_MODES)[number];

/** Returned while the bytes so far are a valid beginning of a header: read on. */
export const INCOMPLETE: unique symbol = Symbol('incomplete PROXY header');

/** An address and port; for `unix` the path (`@name` for an abstract socket) and port 0. */
export interface ProxyAddress {
  address: string;
  port: number;
}

/** A v2 Type-Length-Value field. `value` is the header's bytes, copied out of the input. */
export interface ProxyTlv {
  type: number;
  value: Buffer;
}

/**
 * A complete header. `source` is the client the proxy relayed, `destination` the address it
 * was connecting to. Both are undefined when the header gives no addresses: v1 `UNKNOWN`, v2
 * with an unspecified family or transport, and v2 `LOCAL` (a proxy's own connection, such as a
 * health check: the spec says to use the socket's real endpoints), whose `family` is still the
 * one it names.
 */
export interface ProxyHeader {
  version: 1 | 2;
  command: 'proxy' | 'local';
  family: 'tcp4' | 'tcp6' | 'unix' | 'udp4' | 'udp6' | 'unknown';
  source: ProxyAddress | undefined;
  destination: ProxyAddress | undefined;
  /** v2's TLVs in header order (v1 has none); `decodeProxyTlvs` reads the registered ones. */
  tlvs: ProxyTlv[];
  /** Bytes the header took: the client's data starts at this offset. */
  length: number;
}
