import { suspend, type Suspension } from './operation.js';

/**
 * A switch point that lasts `ms` milliseconds, like `gevent.sleep`. `sleep(0)` only yields:
 * every other ready task, and pending I/O, gets a turn before this task goes on.
 *
 * @example
 *   yield* sleep(100);
 */
export function sleep(ms: number): Suspension<void> {
  return suspend<void>((resume) => {
    if (ms <= 0) {
      const immediate = setImmediate(resume);
      return () => clearImmediate(immediate);
    }
    const timer = setTimeout(resume, ms);
    return () => clearTimeout(timer);
  });
}
