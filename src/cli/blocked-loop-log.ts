import type { Logger } from '../log.js';
import { RateLimitedWarning } from '../server/rate-limited-warning.js';
import type { BlockedLoopEvent } from '../tasks/index.js';

/** The lines echo-server logs for the blocked-loop detector's events, by cause. */
export const BLOCKED_LOOP_MESSAGES = {
  task: 'event loop blocked by a task that did not switch',
  outside: 'event loop blocked outside any task',
  busy: 'event loop busy: timers ran late, no single task to blame',
  unscheduled: 'event loop late: the machine did not run the process',
} as const;

/**
 * How echo-server words the detector's events (see `src/tasks/monitor.ts`). A task that held
 * the loop, or a stretch outside any task, gets a warning of its own: each is rare and worth
 * reading. A busy loop does not: a saturated server runs its timers late about once a second,
 * so it gets at most one line per 10 s, with how late the last beat was and how many there
 * were (`occurrences`). `flush` logs the count not logged yet, at shutdown.
 *
 * A process the machine did not run is no warning about the server: it says that something
 * else had the CPU, which the operator learns better from the machine, and on a shared machine
 * it comes as often as the neighbours are busy. It is counted like the others, and logged at
 * debug, one line each (a few per second at most: each is a beat more than the limit late),
 * with how much of the time the main thread ran (`ranMs`) and was kept waiting (`waitedMs`).
 *
 * @example
 *   const blocked = blockedLoopLog(log, 100);
 *   startBlockedLoopMonitor({ maxBlockingMs: 100, onBlocked: blocked.onBlocked });
 *   // ... at shutdown:
 *   blocked.flush();
 */
export function blockedLoopLog(log: Logger, maxBlockingMs: number): { onBlocked: (event: BlockedLoopEvent) => void; flush: () => void } {
  const busy = new RateLimitedWarning(log, BLOCKED_LOOP_MESSAGES.busy);
  return {
    onBlocked(event) {
      switch (event.cause) {
        case 'task':
          return log.warn({ task: event.taskName, blockedMs: event.blockedMs, maxBlockingMs }, BLOCKED_LOOP_MESSAGES.task);
        case 'outside':
          return log.warn({ task: null, blockedMs: event.blockedMs, maxBlockingMs }, BLOCKED_LOOP_MESSAGES.outside);
        case 'busy':
          return busy.hit({ lateMs: event.lateMs, maxBlockingMs });
        case 'unscheduled':
          return log.debug({ lateMs: event.lateMs, ranMs: event.ranMs, waitedMs: event.waitedMs, maxBlockingMs }, BLOCKED_LOOP_MESSAGES.unscheduled);
      }
    },
    flush: () => busy.flush(),
  };
}
