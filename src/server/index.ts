export { EchoServer, startEchoServer, DEFAULT_SERVER_OPTIONS, type ServerOptions, type ShutdownReport } from './server.js';
export { ServerStats, CLOSE_REASONS, type CloseReason } from './stats.js';
export { StartupError } from './errors.js';
export { upper, upperInPlace } from './upper.js';
