import type { ServerProcess } from '../support/server-process.js';

/** The metrics port echo-server reports in its `listening` log line (it may be port 0's pick). */
export function metricsPort(server: ServerProcess): number {
  const port = server.logs.find((entry) => entry.msg === 'listening')?.metricsPort;
  if (typeof port !== 'number') throw new Error(`no metricsPort in the 'listening' line: ${JSON.stringify(server.logs)}`);
  return port;
}
