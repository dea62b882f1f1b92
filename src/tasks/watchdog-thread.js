// @ts-check
/**
 * The blocked-loop watchdog: a thread of its own that looks, every `lookMs`, at the memory it
 * shares with the main thread (`watchdog-slots.ts`), and so sees what the main thread is doing
 * while it is stuck. `monitor.ts` starts it and tells the whole story.
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
 * delay (`RunDelay`), so that time the machine took away from it is never blamed on anyone.
 *
 * Plain JavaScript, type-checked through `// @ts-check` (see `tsconfig.json`), so that the
 * same file runs from src/ under vitest and from dist/: Node cannot start a worker from a .ts
 * file. It imports only `clock.js`, plain JavaScript too; the slot numbers come in
 * `workerData`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { clockMs, RunDelay } from './clock.js';

/** @type {import('./watchdog-slots.js').WatchdogData} */
const { slots, times, layout, lookMs, maxBlockingMs } = workerData;
const { STEP, CAUGHT, QUIET, BEAT, STOP } = layout;
const runDelay = new RunDelay();

// The main thread's state at the last look, and what is known about when it entered it:
// surely in it from `since` (a reading taken after the look), and entered after `startedAfter`
// (the look before, taken before its loads).
let lookBegan = clockMs();
let step = Atomics.load(slots, STEP);
let beat = Atomics.load(slots, BEAT);
let since = clockMs();
let startedAfter = lookBegan;
let delayAtSince = runDelay.ms();
let marked = false; // CAUGHT or QUIET written for this state
let quietMs = 0; // what this state last wrote into QUIET
parentPort?.postMessage('watching'); // the monitor's `ready`

for (;;) {
  Atomics.wait(slots, STOP, 0, lookMs);
  if (Atomics.load(slots, STOP) !== 0) break;
  // First the delay, then the clock, then the slots, then the clock again: each reading errs
  // on the side that blames less.
  const delay = runDelay.ms();
  const began = clockMs();
  const stepNow = Atomics.load(slots, STEP);
  const beatNow = Atomics.load(slots, BEAT);
  const seenAt = clockMs();
  if (stepNow !== step || beatNow !== beat) {
    step = stepNow;
    beat = beatNow;
    startedAfter = lookBegan;
    since = seenAt;
    delayAtSince = delay;
    marked = false;
  } else if ((step & 1) === 1) {
    if (!marked) {
      times[layout.SEEN_AT] = since;
      times[layout.STARTED_AFTER] = startedAfter;
      times[layout.DELAY_AT_SEEN] = delayAtSince;
      Atomics.store(slots, CAUGHT, step); // after the times: the main thread reads them after this
      marked = true;
    }
  } else {
    const lastedMs = Math.floor(began - since);
    if (!marked && lastedMs - (delay - delayAtSince) > maxBlockingMs) {
      times[layout.DELAY_AT_QUIET] = delayAtSince;
      Atomics.store(slots, QUIET, lastedMs); // after the delay, as above
      marked = true;
      quietMs = lastedMs;
    } else if (marked && lastedMs > quietMs) {
      // Longer now; unless the monitor has taken it meanwhile (then it is stale).
      if (Atomics.compareExchange(slots, QUIET, quietMs, lastedMs) === quietMs) quietMs = lastedMs;
    }
  }
  lookBegan = began;
}
runDelay.close();
