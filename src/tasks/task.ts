import { Step, schedule, wake, type Steppable } from './hub.js';
import { suspend, type Operation, type Suspension, type SwitchPoint, type Waker, type Yielded } from './operation.js';
import { CAUGHT, STEP, noteLongStep, watchdogSlots } from './watchdog-slots.js';

/**
 * Counters the runtime keeps as plain numbers (the hot path never touches a metrics library);
 * the metrics endpoint reads them when it is scraped.
 */
export const taskStats = { spawned: 0, active: 0, failed: 0 };

/** A task whatever its result type (callbacks make `Task<T>` invariant in `T`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<any>;

/** Receives the error of every task that fails. Replace it with `setFailureReporter`. */
export type FailureReporter = (task: AnyTask, error: unknown) => void;

let reportFailure: FailureReporter = (task, error) => {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`${task} failed: ${detail}\n`);
};

/**
 * Sets where task failures are reported (gevent prints them; the server logs them).
 * A failure is also kept on the task: `task.exception`, and `task.get()` re-throws it.
 *
 * @example
 *   setFailureReporter((task, error) => log.error({ err: error, task: task.describe() }, 'task failed'));
 */
export function setFailureReporter(reporter: FailureReporter): void {
  reportFailure = reporter;
}

let running: AnyTask | undefined;

/**
 * Counts steps for the blocked-loop watchdog (see `watchdog-slots.ts`): bumped when a step
 * begins and when it ends, so odd while one runs. Kept in int32 range, as the shared slot is;
 * wrapping keeps the parity.
 */
let stepCount = 0;

/**
 * The task that holds the thread right now, or undefined outside any task.
 *
 * @example
 *   const task = currentTask();
 *   if (!task) throw new NotInTaskError('timeout');
 */
export function currentTask(): AnyTask | undefined {
  return running;
}

type Link<T> = (task: Task<T>) => void;

type State = 'new' | 'ready' | 'running' | 'parked' | 'done';

let lastId = 0;

/**
 * A handle on one task, as returned by `spawn`. Modelled on gevent's Greenlet: `join`, `get`,
 * `value`, `exception`, `ready()`, `successful()`, `dead`, `kill()`, `link()`.
 *
 * @example
 *   const task = spawn(function* () { yield* sleep(10); return 42; });
 *   await task.join();      // or `yield* task.join()` inside another task
 *   task.value;             // 42
 */
export class Task<T = unknown> implements Steppable, Waker {
  readonly id = ++lastId;
  /** For logs and diagnostics: the function's name unless set to something more telling. */
  name: string;
  /**
   * What the task works on (a connection, a file), for diagnostics: turned into text only when
   * the task is reported, so naming a task costs nothing on the hot path.
   */
  about: object | undefined = undefined;
  /** The task's return value, once it has ended successfully. */
  value: T | undefined = undefined;
  /** The error the task failed with; undefined while it runs or when it succeeded. */
  exception: unknown = undefined;
  /** True once `kill()` was called on a task that had not yet ended. */
  killed = false;

  private state: State = 'new';
  private body: (() => Operation<T>) | undefined;
  private iterator: Iterator<Yielded, T, unknown> | undefined;
  private failed = false;
  /** Increments whenever the task leaves a switch point: stale resumes are ignored. */
  private parkId = 0;
  private undo: (() => void) | void = undefined;
  /** The switch point object the task is parked at, when it parked at one. */
  private parkedOn: SwitchPoint | undefined;
  private haltRequested = false;
  /** One callback, or several: a task in a group has exactly one, and no array is made for it. */
  private links: Link<T> | Array<Link<T>> | undefined;

  /** Use `spawn`: a task built directly is never scheduled. */
  constructor(body: () => Operation<T>, name: string) {
    this.body = body;
    this.name = name;
    taskStats.spawned++;
    taskStats.active++;
  }

  /** True once the task has ended: returned, failed, or been killed. */
  ready(): boolean {
    return this.state === 'done';
  }

  /** Same as `ready()`, as gevent spells it. */
  get dead(): boolean {
    return this.state === 'done';
  }

  /** True if the task ended without an error. A killed task counts as successful. */
  successful(): boolean {
    return this.state === 'done' && !this.failed;
  }

  /**
   * Stops the task at its current switch point and runs its `finally` blocks, so whatever it
   * held is released. A task that has not started never runs. Idempotent.
   *
   * Called from outside any task, the cleanup runs before `kill` returns (up to the cleanup's
   * own first switch point, if it has one). Called from inside a task, it runs as soon as the
   * caller switches; `yield* task.join()` waits for it.
   *
   * A task already woken but not yet run (its switch point has ended and handed it a value,
   * say a Queue item) first takes that value and runs to its next switch point, and halts
   * there: a value handed to a task is never silently dropped.
   */
  kill(): void {
    if (this.state === 'done' || this.killed) return;
    this.killed = true;
    switch (this.state) {
      case 'new':
        this.body = undefined;
        this.finish(undefined, undefined, false);
        return;
      case 'parked':
        this.leaveSwitchPoint();
        wake(this, Step.Return, undefined);
        return;
      default:
        // Ready or running: it halts at the next switch point it reaches.
        this.haltRequested = true;
    }
  }

  /**
   * Throws `error` into the task at the switch point where it is parked, as gevent's Timeout
   * does. Returns false (and does nothing) if the task is not parked.
   */
  throwIn(error: unknown): boolean {
    if (this.state !== 'parked') return false;
    this.leaveSwitchPoint();
    wake(this, Step.Throw, error);
    return true;
  }

  /** Calls `callback` when the task ends; at once if it already has. */
  link(callback: (task: Task<T>) => void): void {
    if (this.state === 'done') {
      this.callLink(callback);
      return;
    }
    const links = this.links;
    if (links === undefined) this.links = callback;
    else if (typeof links === 'function') this.links = [links, callback];
    else links.push(callback);
  }

  /** Removes a callback added with `link`. */
  unlink(callback: (task: Task<T>) => void): void {
    const links = this.links;
    if (links === callback) {
      this.links = undefined;
    } else if (Array.isArray(links)) {
      const index = links.indexOf(callback);
      if (index >= 0) links.splice(index, 1);
    }
  }

  /**
   * Waits for the task to end, at most `timeoutMs` if given. Never throws: resolves to whether
   * the task has ended.
   */
  join(timeoutMs?: number): Suspension<boolean> {
    return suspend<boolean>((resume) => {
      if (this.state === 'done') return resume(true);
      const onEnd = () => resume(true);
      this.link(onEnd);
      const timer = timeoutMs === undefined ? undefined : setTimeout(resume, timeoutMs, false);
      return () => {
        this.unlink(onEnd);
        clearTimeout(timer);
      };
    });
  }

  /** Waits for the task to end, then returns its value or re-throws its exception. */
  get(): Suspension<T> {
    return suspend<T>((resume, fail) => {
      const settle = () => (this.failed ? fail(this.exception) : resume(this.value as T));
      if (this.state === 'done') return settle();
      this.link(settle);
      return () => this.unlink(settle);
    });
  }

  /** The name, and what the task works on if it says: `echo 127.0.0.1:5555`. */
  describe(): string {
    return this.about === undefined ? this.name : `${this.name} ${String(this.about)}`;
  }

  /** `Task#<id>(<describe()>)`, for messages and logs. */
  toString(): string {
    return `Task#${this.id}(${this.describe()})`;
  }

  /** Runs the task until its next switch point or its end. Only the hub calls this. */
  step(step: Step, arg: unknown): void {
    if (this.state === 'done') return;
    if (this.state === 'new') {
      try {
        this.iterator = this.body!()[Symbol.iterator]();
      } catch (error) {
        this.finish(undefined, error, true);
        return;
      }
      this.body = undefined;
    }
    const iterator = this.iterator!;
    for (;;) {
      this.state = 'running';
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the hub's record of who runs
      running = this;
      stepCount = (stepCount + 1) | 0;
      watchdogSlots[STEP] = stepCount;
      let result: IteratorResult<Yielded, T>;
      try {
        if (step === Step.Next) result = iterator.next(arg);
        else if (step === Step.Throw) result = iterator.throw!(arg);
        else result = iterator.return!(arg as T);
      } catch (error) {
        this.stepEnded();
        this.finish(undefined, error, true);
        return;
      }
      this.stepEnded();
      if (result.done) {
        this.finish(result.value, undefined, false);
        return;
      }
      if (!this.haltRequested) {
        this.park(result.value);
        return;
      }
      // Killed while it ran: halt here instead of parking.
      this.haltRequested = false;
      step = Step.Return;
      arg = undefined;
    }
  }

  /** Resumes the task parked at `from` with `value`; ignored if it is not parked there. */
  resume(from: SwitchPoint, value: unknown): void {
    if (this.parkedOn !== from) return;
    this.leaveSwitchPoint();
    wake(this, Step.Next, value);
  }

  /** Throws `error` into the task parked at `from`; ignored if it is not parked there. */
  fail(from: SwitchPoint, error: unknown): void {
    if (this.parkedOn !== from) return;
    this.leaveSwitchPoint();
    wake(this, Step.Throw, error);
  }

  private stepEnded(): void {
    running = undefined;
    const step = stepCount;
    stepCount = (step + 1) | 0;
    watchdogSlots[STEP] = stepCount;
    // The watchdog saw this very step running at two looks in a row (rare): say when it ended.
    if (watchdogSlots[CAUGHT] === step) noteLongStep(this);
  }

  private park(yielded: Yielded): void {
    if (typeof yielded !== 'function') {
      if (typeof (yielded as Partial<SwitchPoint> | null)?.enter !== 'function') {
        // `yield x` instead of `yield* operation`: a mistake TypeScript catches, plain JS not.
        const error = new TypeError(`${this} yielded ${String(yielded)}, not an operation: use yield*`);
        this.state = 'ready';
        wake(this, Step.Throw, error);
        return;
      }
      // A switch point object: no closures; it names itself when it wakes the task.
      this.state = 'parked';
      this.parkedOn = yielded;
      try {
        yielded.enter(this);
      } catch (error) {
        this.fail(yielded, error);
      }
      return;
    }
    const park = yielded;
    const id = ++this.parkId;
    this.state = 'parked';
    const resume = (value: unknown) => {
      if (this.parkId !== id) return;
      this.leaveSwitchPoint();
      wake(this, Step.Next, value);
    };
    const fail = (error: unknown) => {
      if (this.parkId !== id) return;
      this.leaveSwitchPoint();
      wake(this, Step.Throw, error);
    };
    let undo: (() => void) | void;
    try {
      undo = park(resume, fail);
    } catch (error) {
      fail(error);
      return;
    }
    if (this.parkId === id) this.undo = undo;
    else if (undo) undo(); // resumed before `park` even returned
  }

  private leaveSwitchPoint(): void {
    this.parkId++;
    this.state = 'ready';
    const switchPoint = this.parkedOn;
    if (switchPoint) {
      this.parkedOn = undefined;
      try {
        switchPoint.leave();
      } catch (error) {
        reportFailure(this, error);
      }
      return;
    }
    const undo = this.undo;
    if (!undo) return;
    this.undo = undefined;
    try {
      undo();
    } catch (error) {
      reportFailure(this, error);
    }
  }

  private finish(value: T | undefined, error: unknown, failed: boolean): void {
    this.state = 'done';
    this.iterator = undefined;
    taskStats.active--;
    if (failed) {
      this.failed = true;
      this.exception = error;
      taskStats.failed++;
      try {
        reportFailure(this, error);
      } catch {
        // A broken reporter must not break the runtime: the error stays on the task.
      }
    } else {
      this.value = value;
    }
    const links = this.links;
    this.links = undefined;
    if (typeof links === 'function') this.callLink(links);
    else if (links) for (const callback of links) this.callLink(callback);
  }

  private callLink(callback: (task: Task<T>) => void): void {
    try {
      callback(this);
    } catch (error) {
      reportFailure(this, error);
    }
  }
}

/**
 * Schedules the first step of a task just built (see `schedule` in `hub.ts`): how `spawn` and
 * `spawnLater` start the tasks they build.
 */
export function scheduleStart(task: AnyTask): void {
  schedule(task, Step.Next, undefined);
}
