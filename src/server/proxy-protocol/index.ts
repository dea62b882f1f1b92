export { parseProxyHeader } from './parse.js';
export { INCOMPLETE, PROXY_PROTOCOL_MODES, type ProxyAddress, type ProxyHeader, type ProxyProtocolMode, type ProxyTlv } from './header.js';
export { PROXY_HEADER_FAILURES, ProxyHeaderError, type ProxyHeaderFailure } from './errors.js';
export { decodeProxyTlvs, PP2_CLIENT, PP2_SUBTYPE_SSL, PP2_TYPE, type ProxySslTlv, type ProxyTlvInfo } from './tlvs.js';
