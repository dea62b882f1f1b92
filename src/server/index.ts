export { EchoServer, startEchoServer, DEFAULT_SERVER_OPTIONS, type ServerOptions, type ShutdownReport } from './server.js';
export { ServerStats, type CloseReason } from './stats.js';
export { StartupError } from './errors.js';
export { upperInPlace } from './upper.js';
