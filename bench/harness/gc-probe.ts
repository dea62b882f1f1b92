/**
 * Preloaded into the processes whose memory the benchmarks measure (`node --expose-gc
 * --import`): on SIGUSR2, every thread of the process collects garbage (a preload runs in each
 * worker thread too; they hear of it on a BroadcastChannel, as signals reach the main thread
 * only), and the main thread prints, once all have answered,
 *
 *   memory RSS HEAP YOUNG THREADS
 *
 * in bytes: resident memory (VmRSS), the JS heaps in use summed over the threads, and the
 * young generations' pages (new space and new large objects, summed likewise), which V8 sizes
 * to the recent allocation rate (up to its semi-space limit) and gives back once the thread
 * has been quiet for a while: a measure of traffic, not of what is held.
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('gc-probe needs node --expose-gc');

/** What one thread holds after its collection. */
interface Held {
  heap: number;
  young: number;
}

function collectHere(): Held {
  collect!();
  let heap = 0;
  let young = 0;
  for (const space of getHeapSpaceStatistics()) {
    heap += space.space_used_size;
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') young += space.physical_space_size;
  }
  return { heap, young };
}

const channel = new BroadcastChannel('gc-probe');
channel.unref();

if (isMainThread) {
  let threads = 0; // other threads with the probe, as they announce themselves
  let pending: { answers: Held[]; timer: NodeJS.Timeout } | undefined;
  const report = () => {
    const answers = pending!.answers;
    clearTimeout(pending!.timer);
    pending = undefined;
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
    const sum = (key: keyof Held) => answers.reduce((total, held) => total + held[key], 0);
    process.stdout.write(`memory ${rss} ${sum('heap')} ${sum('young')} ${answers.length}\n`);
  };
  channel.onmessage = (event) => {
    const message = (event as { data: { hello?: true; held?: Held } }).data;
    if (message.hello) threads++;
    else if (message.held && pending) {
      pending.answers.push(message.held);
      if (pending.answers.length === threads + 1) report();
    }
  };
  process.on('SIGUSR2', () => {
    if (pending) return;
    // A thread that has ended since it said hello never answers: report without it after 2 s.
    pending = { answers: [collectHere()], timer: setTimeout(report, 2000) };
    if (threads === 0) report();
    else channel.postMessage({ collect: true });
  });
} else {
  channel.onmessage = (event) => {
    if ((event as { data: { collect?: true } }).data.collect) channel.postMessage({ held: collectHere() });
  };
  channel.postMessage({ hello: true });
}
