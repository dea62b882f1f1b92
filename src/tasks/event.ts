import { suspend, type Resume, type Suspension } from './operation.js';

/**
 * A flag that tasks can wait for, like `gevent.event.Event`: `set()` wakes every waiter, and
 * while the flag stays set, `wait()` returns at once. `clear()` makes later waits wait again.
 *
 * @example
 *   const ready = new Event();
 *   spawn(function* () { yield* ready.wait(); console.log('go'); });
 *   ready.set();
 */
export class Event {
  private flag = false;
  // A Set keeps insertion order (waiters are woken oldest first) and lets a waiter that gives
  // up (timed out, killed) remove itself in O(1).
  private waiters = new Set<Resume<boolean>>();

  /** Whether the flag is set. */
  isSet(): boolean {
    return this.flag;
  }

  /** Sets the flag and wakes every waiter. Setting a set flag does nothing. */
  set(): void {
    if (this.flag) return;
    this.flag = true;
    // Swap the set first: a woken waiter may run at once (when we are outside any task) and
    // wait again after a clear(); it must join the next round, not this one.
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const resume of waiters) resume(true);
  }

  /** Clears the flag. Waiters already woken stay woken. */
  clear(): void {
    this.flag = false;
  }

  /**
   * Waits until the flag is set, at most `timeoutMs` if given. Never throws: resolves to true
   * once the flag was set, or false when the time ran out first.
   *
   * @example
   *   if (!(yield* ready.wait(1_000))) console.log('gave up');
   */
  wait(timeoutMs?: number): Suspension<boolean> {
    return suspend<boolean>((resume) => {
      if (this.flag) return resume(true);
      const waiters = this.waiters;
      waiters.add(resume);
      const timer = timeoutMs === undefined ? undefined : setTimeout(resume, timeoutMs, false);
      return () => {
        waiters.delete(resume);
        clearTimeout(timer);
      };
    });
  }
}
