/**
 * Preloaded into both servers by the memory benchmark (`node --expose-gc --import`): on
 * SIGUSR2, collect garbage and print resident and heap memory, so that idle memory per
 * connection is measured after a GC for the baseline and for echo-server alike.
 */
import { readFileSync } from 'node:fs';

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('gc-probe needs node --expose-gc');

process.on('SIGUSR2', () => {
  collect();
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
  process.stdout.write(`memory ${rss} ${process.memoryUsage().heapUsed}\n`);
});
