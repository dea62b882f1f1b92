export { EchoServer, startEchoServer, type ShutdownReport } from './server.js';
export {
  DEFAULT_PROXY_HEADER_TIMEOUT_MS,
  DEFAULT_SERVER_OPTIONS,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_TLS_PORT,
  type ServerOptions,
} from './options.js';
export { ServerStats, CLOSE_REASONS, LISTENERS, TLS_HANDSHAKE_FAILURES, PROXY_HEADER_FAILURES, type CloseReason, type ListenerName } from './stats.js';
export { StartupError } from './errors.js';
export { upperInPlace } from './upper.js';
export { TLS_CLIENT_AUTH, TlsEndpoint, type TlsClientAuth, type TlsSettings } from './tls.js';
export { PROXY_PROTOCOL_MODES, type ProxyProtocolMode } from './proxy-protocol/index.js';
