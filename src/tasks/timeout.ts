import { NotInTaskError, TimeoutError } from './errors.js';
import type { Operation } from './operation.js';
import { currentTask } from './task.js';

/**
 * Runs `op` with a deadline, like `with gevent.Timeout(ms / 1000):`. If `op` has not finished
 * after `ms` milliseconds, a `TimeoutError` is thrown into the task at the switch point where
 * it waits, so `op`'s own `finally` blocks run on the way out, and then out of `timeout`.
 * A non-finite `ms` (Infinity) means no deadline. Only inside a task.
 *
 * Every call throws its own `TimeoutError` instance: in nested deadlines, the one that fired
 * is the one whose instance arrives, whichever of them is inner.
 *
 * @example
 *   const data = yield* timeout(5_000, conn.recv());   // throws TimeoutError after 5 s
 */
export function* timeout<T>(ms: number, op: Operation<T>): Operation<T> {
  return yield* withDeadline(ms, op, {});
}

/**
 * Like `timeout`, but returns `fallback` instead of throwing when the deadline passes (gevent's
 * `with_timeout(seconds, fn, timeout_value=...)`). Another deadline's error passes through.
 *
 * @example
 *   const data = yield* withTimeout(5_000, conn.recv(), null);   // null after 5 s
 */
export function* withTimeout<T, F>(ms: number, op: Operation<T>, fallback: F): Operation<T | F> {
  const deadline: Deadline = {};
  try {
    return yield* withDeadline(ms, op, deadline);
  } catch (error) {
    // Identity, not `instanceof`: an outer deadline's TimeoutError is not ours to swallow.
    if (error !== undefined && error === deadline.fired) return fallback;
    throw error;
  }
}

/**
 * One deadline's error, made only when it fires: an Error captures a stack trace when it is
 * made, microseconds that a server setting a deadline on every connection (a PROXY header, a
 * TLS handshake) would otherwise pay each time for an error it almost never throws.
 */
interface Deadline {
  fired?: TimeoutError;
}

function* withDeadline<T>(ms: number, op: Operation<T>, deadline: Deadline): Operation<T> {
  if (!Number.isFinite(ms)) return yield* op;
  const task = currentTask();
  if (!task) throw new NotInTaskError('timeout');
  // The timer can only fire while this task is parked somewhere inside `op`: timers run from
  // the event loop, never while a task holds the thread, and the `finally` below disarms it
  // as soon as `op` ends in any way (returns, throws, or the task is killed).
  const timer = setTimeout(() => task.throwIn((deadline.fired = new TimeoutError(ms))), ms);
  try {
    return yield* op;
  } finally {
    clearTimeout(timer);
  }
}
