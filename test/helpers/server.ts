import { afterEach } from 'vitest';
import { startEchoServer, type EchoServer, type ServerOptions } from '../../src/server/index.js';

const running: EchoServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.shutdown()));
});

/** Starts a real server on 127.0.0.1, port 0; it is shut down after the test. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<EchoServer> {
  const server = await startEchoServer({ host: '127.0.0.1', port: 0, shutdownTimeoutMs: 0, ...options });
  running.push(server);
  return server;
}
