import type { Operation, SwitchPoint, Waker, Yielded } from './operation.js';

/** Returned by `poll` when the value is not there yet and the task must wait. */
export const NOT_READY: unique symbol = Symbol('not ready');

// `yield*` reads `done` and `value` at once and keeps nothing, so one result object serves
// every step of every reusable operation: the hot path allocates nothing here.
const result = { done: false, value: undefined as unknown };

/**
 * An operation that one owner waits on again and again (a socket's "next chunk"), built once
 * and reused, so that a switch point on the hot path costs no allocation. Subclasses say
 * whether the value is ready (`poll`) and call `wake` when it arrives. Only one task may wait
 * on it at a time.
 *
 * @example
 *   class NextItem extends ReusableOperation<string> {
 *     items: string[] = [];
 *     protected poll() { return this.items.shift() ?? NOT_READY; }
 *     push(item: string) { if (!this.wake(item)) this.items.push(item); }
 *   }
 *   const item = yield* next;   // waits only when there is nothing yet
 */
export abstract class ReusableOperation<T>
  implements Operation<T>, Iterator<Yielded, T, unknown>, SwitchPoint
{
  private waiting = false;
  private task: Waker | undefined;

  /** The value if it is ready now, or `NOT_READY` to make the task wait for `wake`. */
  protected abstract poll(): T | typeof NOT_READY;

  /** Resumes the waiting task with `value`; returns false if no task was waiting. */
  protected wake(value: T): boolean {
    const task = this.task;
    if (!task) return false;
    task.resume(this, value);
    return true;
  }

  /** Whether a task is waiting here now. */
  get hasWaiter(): boolean {
    return this.task !== undefined;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(value?: unknown): IteratorResult<Yielded, T> {
    if (this.waiting) {
      // Second step: the runtime resumes us with the value `wake` passed.
      this.waiting = false;
      return finished(value);
    }
    const ready = this.poll();
    if (ready !== NOT_READY) return finished(ready);
    this.waiting = true;
    result.done = false;
    result.value = this;
    return result as IteratorResult<Yielded, T>;
  }

  throw(error: unknown): IteratorResult<Yielded, T> {
    this.waiting = false;
    throw error;
  }

  return(value?: unknown): IteratorResult<Yielded, T> {
    this.waiting = false;
    return finished(value);
  }

  enter(task: Waker): void {
    this.task = task;
  }

  leave(): void {
    this.task = undefined;
  }
}

function finished<T>(value: unknown): IteratorResult<Yielded, T> {
  result.done = true;
  result.value = value;
  return result as IteratorResult<Yielded, T>;
}

/** An operation that is always complete at once: `yield* DONE` does not switch. */
class Done extends ReusableOperation<void> {
  protected poll(): void {}
}
/** A finished operation, shared by all: `send` returns it when the write did not fill the buffer. */
export const DONE: Operation<void> = new Done();
