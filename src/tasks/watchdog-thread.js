// @ts-check
/**
 * The blocked-loop watchdog: a thread of its own that looks, every `lookMs`, at the memory it
 * shares with the main thread (`watchdog-slots.ts`), and so sees what the main thread is doing
 * while it is stuck. `watchdog.ts` starts it; `monitor.ts` tells the whole story.
 *
 * At each look it reads the runtime's step counter and the monitor's heartbeat. If neither
 * moved since the last look, the main thread is still in the same state:
 * - the counter is odd: one and the same task step has been running since the last look.
 *   The watchdog writes what it knows about that step (since when it surely ran, after when it
 *   began) and marks it in `CAUGHT`; the step reads the clock when it ends and the monitor
 *   judges how long it held the loop. A busy loop never gets here: its counter moves at every
 *   look, however late its timers are.
 * - the counter is even: no task ran and no beat came. Once that has lasted longer than the
 *   limit, the watchdog writes how long into `QUIET`, and again at every look while it
 *   lasts; the monitor judges it too.
 * The watchdog judges nothing itself: only the main thread, once free again, has its full run
 * delay and the full run delay of the threads it may have waited for (`clock.js`), so that
 * time the machine took away from it is never blamed on anyone. What the watchdog adds is
 * what the kernel had said when a stretch began: the main thread's time on a CPU and waiting
 * for one (one small file, read at every look anyway, and published for the monitor's beat),
 * and, only for a stretch already suspect, the other threads' waits.
 *
 * Plain JavaScript, type-checked through `// @ts-check` (see `tsconfig.json`), so that the
 * same file runs from src/ under vitest and from dist/: Node cannot start a worker from a .ts
 * file. It imports only `clock.js`, plain JavaScript too; the slot numbers come in
 * `workerData`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { clockMs, MainThreadTimes, otherThreadsWaitedMs, ownThreadId } from './clock.js';

/** @type {import('./watchdog-slots.js').WatchdogData} */
const { slots, times, layout, lookMs, tickMs, maxBlockingMs } = workerData;
const { STEP, CAUGHT, QUIET, BEAT, STOP } = layout;
const main = new MainThreadTimes();
// Left out of the other threads' waits: the main thread is counted on its own, and it never
// waits for this one.
const watchdogTid = ownThreadId();
const notOthers = [process.pid, watchdogTid];
Atomics.store(slots, layout.WATCHDOG_TID, watchdogTid);

// The main thread's state at the last look, and what is known about when it entered it:
// surely in it from `since` (a reading taken after the look), and entered after `startedAfter`
// (the look before, taken before its loads).
main.read();
let lookBegan = clockMs();
let step = Atomics.load(slots, STEP);
let beat = Atomics.load(slots, BEAT);
let since = clockMs();
let startedAfter = lookBegan;
let waitedAtSince = main.waitedMs;
let ranAtSince = main.ranMs;
/** @type {number | undefined} the other threads' waits, read once this state was suspect */
let othersAtSince;
let marked = false; // CAUGHT or QUIET written for this state
let quietMs = 0; // what this state last wrote into QUIET
parentPort?.postMessage('watching'); // the monitor's `ready`

for (;;) {
  Atomics.wait(slots, STOP, 0, lookMs);
  if (Atomics.load(slots, STOP) !== 0) break;
  // First the kernel's figures, then the clock, then the slots, then the clock again: each
  // reading errs on the side that blames less.
  main.read();
  const waited = main.waitedMs;
  times[layout.LATEST_RAN] = main.ranMs;
  times[layout.LATEST_WAITED] = waited;
  const began = clockMs();
  const stepNow = Atomics.load(slots, STEP);
  const beatNow = Atomics.load(slots, BEAT);
  const seenAt = clockMs();
  if (stepNow !== step || beatNow !== beat) {
    step = stepNow;
    beat = beatNow;
    startedAfter = lookBegan;
    since = seenAt;
    waitedAtSince = waited;
    ranAtSince = main.ranMs;
    othersAtSince = undefined;
    marked = false;
    lookBegan = began;
    continue;
  }
  // The main thread is where it was at the last look.
  if ((step & 1) === 1) {
    // One step still running: mark it (rare: only steps longer than a look get here).
    if (!marked) {
      times[layout.SEEN_AT] = since;
      times[layout.STARTED_AFTER] = startedAfter;
      times[layout.WAITED_AT_SEEN] = waitedAtSince;
      times[layout.RAN_AT_SEEN] = ranAtSince;
      times[layout.OTHERS_AT_SEEN] = otherThreadsWaitedMs(notOthers);
      Atomics.store(slots, CAUGHT, step); // after the times: the main thread reads them after this
      marked = true;
    }
  } else {
    // No step and no beat: the loop is idle between beats, or held. Once that has lasted a tick
    // the beat is late, and from then on the other threads' waits may be what the main thread
    // sleeps through; those that ended before are missed, which errs on the side that blames
    // (by a tick and a look at most, unless this thread too was kept from running).
    const lastedMs = Math.floor(began - since);
    if (othersAtSince === undefined && lastedMs > tickMs) othersAtSince = otherThreadsWaitedMs(notOthers);
    if (!marked && lastedMs - (waited - waitedAtSince) > maxBlockingMs) {
      times[layout.QUIET_SINCE] = since;
      times[layout.WAITED_AT_QUIET] = waitedAtSince;
      times[layout.RAN_AT_QUIET] = ranAtSince;
      times[layout.OTHERS_AT_QUIET] = othersAtSince ?? otherThreadsWaitedMs(notOthers);
      Atomics.store(slots, QUIET, lastedMs); // after the times, as above
      marked = true;
      quietMs = lastedMs;
    } else if (marked && lastedMs > quietMs) {
      // Longer now; unless the monitor has taken it meanwhile (then it is stale).
      if (Atomics.compareExchange(slots, QUIET, quietMs, lastedMs) === quietMs) quietMs = lastedMs;
    }
  }
  lookBegan = began;
}
main.close();
