/** What the benchmarks read from a running echo-server's own /metrics. */
import type { RunningServer } from './children.js';

/**
 * echo_connections_active from the server's /metrics, summed over its listeners: how many
 * connections the server holds now (a server started with `--metrics-port`).
 */
export async function activeConnections(server: RunningServer): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  return [...text.matchAll(/^echo_connections_active(?:\{[^}]*\})? (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}
