/**
 * Worker thread entry: drives this worker's share of the connections and answers the main
 * thread. Started by the runner with a `WorkerConfig` as `workerData`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Fleet } from './fleet.js';
import type { MainMessage, WorkerConfig, WorkerMessage } from '../run/messages.js';

if (parentPort === null) throw new Error('load/worker/worker.js runs inside a worker thread, started by echo-load');
const port = parentPort;

const fleet = new Fleet(workerData as WorkerConfig, (message: WorkerMessage) => port.postMessage(message));

function onMessage(message: MainMessage): void {
  if (message.type === 'start') {
    fleet.start(message.startsAt);
  } else if (message.type === 'measure') {
    fleet.measure();
  } else if (message.type === 'stop') {
    // Without a message listener the port no longer holds the thread open: once the
    // connections have closed, the thread ends by itself.
    port.off('message', onMessage);
    void fleet.stop();
  }
}

port.on('message', onMessage);
port.postMessage({ type: 'up' } satisfies WorkerMessage);
