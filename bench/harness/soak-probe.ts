/**
 * Preloaded into the server by the soak benchmark (`node --expose-gc --import`): every
 * SOAK_PROBE_INTERVAL_MS it prints its memory as the process sees it, without forcing a
 * collection (`sample RSS HEAP_TOTAL HEAP_USED EXTERNAL ARRAY_BUFFERS`, bytes), so the samples
 * show the heap as it lives; on SIGUSR2 it collects garbage, prints the same figures as
 * `collected ...`, and with SOAK_PROBE_SNAPSHOTS=DIR writes a heap snapshot there and prints
 * `snapshot PATH`. Preloads run in every thread: only the main thread's, the server's heap,
 * is reported (the metrics and watchdog threads have small heaps of their own).
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('soak-probe needs node --expose-gc');
const intervalMs = Number(process.env.SOAK_PROBE_INTERVAL_MS ?? 10_000);
const snapshots = process.env.SOAK_PROBE_SNAPSHOTS;
let taken = 0;

function figures(): string {
  const m = process.memoryUsage();
  return `${m.rss} ${m.heapTotal} ${m.heapUsed} ${m.external} ${m.arrayBuffers}`;
}

if (isMainThread) {
  setInterval(() => process.stdout.write(`sample ${figures()}\n`), intervalMs).unref();
  process.on('SIGUSR2', () => {
    collect();
    process.stdout.write(`collected ${figures()}\n`);
    if (snapshots === undefined) return;
    const path = writeHeapSnapshot(join(snapshots, `soak-${process.pid}-${++taken}.heapsnapshot`));
    process.stdout.write(`snapshot ${path}\n`);
  });
}
