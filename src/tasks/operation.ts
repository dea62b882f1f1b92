/**
 * Operations and switch points: the vocabulary every task is written in.
 *
 * A task is a generator function. Wherever it would block (wait for bytes, a timer, another
 * task) it writes `yield* someOperation`, and that is a *switch point*: the task hands the
 * thread back to the runtime, which runs other tasks until something resumes this one. Between
 * two switch points a task runs alone; nothing else can interleave. That is "concurrency =
 * switching + saved state", as the lesson (`docs/lesson.md`) puts it, with the generator
 * holding the saved state.
 */

/** Given to a `Park`: call it to resume the parked task with a value. */
export type Resume<T> = (value: T) => void;
/** Given to a `Park`: call it to throw an error into the parked task at its switch point. */
export type Fail = (error: unknown) => void;

/**
 * Parks a task at a switch point. It arranges for `resume` or `fail` to be called later
 * (from a timer, a socket event, another task) and may return an `undo` function, which the
 * runtime calls exactly once when the task leaves this switch point, however it leaves:
 * resumed, failed, killed or timed out. Remove listeners and clear timers there.
 */
export type Park<T> = (resume: Resume<T>, fail: Fail) => (() => void) | void;

/** The task a switch point object wakes: it names itself, so a stale wake-up is ignored. */
export interface Waker {
  resume(from: SwitchPoint, value: unknown): void;
  fail(from: SwitchPoint, error: unknown): void;
}

/**
 * A switch point as an object, for hot paths: one object can serve every wait of its owner,
 * where a `Park` function needs new closures for each wait. See `ReusableOperation`.
 */
export interface SwitchPoint {
  /** The task parks here: later call `task.resume(this, value)` or `task.fail(this, error)`. */
  enter(task: Waker): void;
  /** Called exactly once when the task leaves, however it leaves: forget the task. */
  leave(): void;
}

/** What a task hands the runtime at a switch point. */
export type Yielded = Park<unknown> | SwitchPoint;

/** Anything a task can `yield*`: generator functions returning `Operation<T>` are the usual kind. */
export interface Operation<T> {
  [Symbol.iterator](): Iterator<Yielded, T, unknown>;
}

/**
 * The primitive switch point, built from a `park` function. It is also awaitable, so code that
 * is not a task (tests, the CLI) can `await` the same operation a task would `yield*`.
 *
 * @example
 *   function sleep(ms: number) {
 *     return suspend<void>((resume) => {
 *       const timer = setTimeout(resume, ms);
 *       return () => clearTimeout(timer);
 *     });
 *   }
 *   yield* sleep(10);   // inside a task
 *   await sleep(10);    // anywhere else
 */
export function suspend<T>(park: Park<T>): Suspension<T> {
  return new Suspension(park);
}

/** What `suspend` returns: `yield*` it inside a task, or `await` it anywhere else. */
export class Suspension<T> implements Operation<T>, PromiseLike<T> {
  constructor(private readonly park: Park<T>) {}

  *[Symbol.iterator](): Iterator<Yielded, T, unknown> {
    return (yield this.park as Park<unknown>) as T;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const promise = new Promise<T>((resolve, reject) => {
      let undo: (() => void) | void = undefined;
      let settled = false;
      const settle = () => {
        settled = true;
        if (undo) undo();
      };
      undo = this.park(
        (value) => {
          if (settled) return;
          settle();
          resolve(value);
        },
        (error) => {
          if (settled) return;
          settle();
          reject(error);
        },
      );
      // The park may have settled synchronously, before `undo` was known.
      if (settled && undo) undo();
    });
    return promise.then(onFulfilled, onRejected);
  }
}
