/**
 * How the benchmarks read a process's memory: started with the GC probe (gc-probe.ts), asked
 * for its figures after every thread has collected garbage.
 */
import type { Child } from './children.js';
import { built } from './children.js';

/** Node.js flags that load the GC probe into a process (and each of its worker threads). */
export const GC_PROBE_FLAGS = ['--expose-gc', '--import', built('harness/gc-probe.js')];

/**
 * A process's memory after a collection in every thread, bytes: resident (VmRSS), the JS heaps
 * in use, and the young generations' pages (see gc-probe.ts).
 */
export interface Memory {
  rss: number;
  heap: number;
  young: number;
}

/**
 * Asks a process started with `GC_PROBE_FLAGS` to collect garbage and report its memory.
 *
 * @example
 *   const server = await startServer([process.execPath, ...GC_PROBE_FLAGS, BARE_SERVER, '0']);
 *   const { rss, heap } = await memoryAfterGc(server.child);
 */
export async function memoryAfterGc(child: Child): Promise<Memory> {
  const reply = child.line((line) => /^memory (\d+) (\d+) (\d+) \d+$/.exec(line) ?? undefined);
  child.signal('SIGUSR2');
  const [, rss, heap, young] = await reply;
  return { rss: Number(rss), heap: Number(heap), young: Number(young) };
}

/**
 * Memory per connection between two readings: resident memory without the young generation
 * (whose size follows the recent allocation rate, not what is held), and the JS heap.
 */
export function perConnection(before: Memory, after: Memory, connections: number): { rss: number; heap: number } {
  const held = (m: Memory) => m.rss - m.young;
  return { rss: (held(after) - held(before)) / connections, heap: (after.heap - before.heap) / connections };
}
