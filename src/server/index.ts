export { EchoServer, startEchoServer, DEFAULT_SERVER_OPTIONS, DEFAULT_TLS_PORT, type ServerOptions, type ShutdownReport } from './server.js';
export { ServerStats, CLOSE_REASONS, LISTENERS, TLS_HANDSHAKE_FAILURES, PROXY_HEADER_FAILURES, type CloseReason, type ListenerName } from './stats.js';
export { StartupError } from './errors.js';
export { upperInPlace } from './upper.js';
export { TLS_CLIENT_AUTH, TlsEndpoint, type TlsClientAuth, type TlsSettings } from './tls.js';
export { PROXY_PROTOCOL_MODES, type ProxyProtocolMode } from './proxy-protocol/index.js';
