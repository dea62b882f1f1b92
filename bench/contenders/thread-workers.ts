/**
 * The design `--workers` did not take, for its benchmark (bench/workers.ts): N copies of
 * the server as worker threads of one process, each with its own event loop, runtime, echo
 * tasks and blocked-loop detector, on one port with SO_REUSEPORT. Prints `listening PORT`
 * once all listen; runs until killed. Usage: thread-workers.js N [PORT]
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startEchoServer } from '../../src/server/index.js';
import { startBlockedLoopMonitor } from '../../src/tasks/index.js';

if (isMainThread) {
  const [count = 1, firstPort = 0] = process.argv.slice(2).map(Number);
  const start = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { port } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  // The first picks the port, the others join it (as the primary does with processes).
  const port = await start(firstPort);
  for (let i = 1; i < count; i++) await start(port);
  process.stdout.write(`listening ${port}\n`);
  process.on('SIGTERM', () => process.exit(0));
} else {
  const monitor = startBlockedLoopMonitor({ maxBlockingMs: 100, onBlocked: () => {} });
  await monitor.ready;
  const server = await startEchoServer({ port: (workerData as { port: number }).port, reusePort: true });
  parentPort!.postMessage(server.port);
}
