/**
 * The hub: the one place that decides which task runs next.
 *
 * Rule: one task runs at a time, and it runs until its next switch point. A wake-up that
 * happens while a task is running (it spawns a task, sets an Event, puts into a Queue) is
 * queued and runs once the running task has switched away. A wake-up from outside any task
 * (a socket event, a timer) runs the woken task at once, synchronously, then everything it
 * queued. Tasks therefore never nest, and socket events reach their task without a detour
 * through a promise or a timer.
 */

/** What the hub asks a task to do when it gets the thread: go on, throw, or return (halt). */
export const Step = { Next: 0, Throw: 1, Return: 2 } as const;
/** One of `Step`'s values. */
export type Step = (typeof Step)[keyof typeof Step];

/** The hub's view of a task. */
export interface Steppable {
  step(step: Step, arg: unknown): void;
}

// The run queue holds flat triples (task, step, arg): no object per wake-up.
const queue: unknown[] = [];
let head = 0;
let stepping = false;
let runScheduled = false;

/** Wakes `task` with `step`: at once when called from outside the hub, queued otherwise. */
export function wake(task: Steppable, step: Step, arg: unknown): void {
  if (stepping) {
    queue.push(task, step, arg);
    return;
  }
  stepping = true;
  try {
    task.step(step, arg);
    runQueued();
  } finally {
    stepping = false;
  }
}

/**
 * Queues `task` to run later without taking the thread now, even from outside the hub: this is
 * how a spawned task starts, so that `spawn` returns its handle before the task runs (as in
 * gevent, where spawning only schedules).
 */
export function schedule(task: Steppable, step: Step, arg: unknown): void {
  queue.push(task, step, arg);
  if (!stepping && !runScheduled) {
    runScheduled = true;
    queueMicrotask(runFromMicrotask);
  }
}

function runFromMicrotask(): void {
  runScheduled = false;
  if (stepping) return;
  stepping = true;
  try {
    runQueued();
  } finally {
    stepping = false;
  }
}

function runQueued(): void {
  try {
    while (head < queue.length) {
      const task = queue[head] as Steppable;
      const step = queue[head + 1] as Step;
      const arg = queue[head + 2];
      queue[head] = queue[head + 2] = undefined;
      head += 3;
      task.step(step, arg);
    }
    // Nothing was queued in the common case (one socket event, one task): skip the resize.
    if (head !== 0) {
      queue.length = 0;
      head = 0;
    }
  } finally {
    // Only if a step threw (it should not): the rest of the queue still gets its turn.
    if (head < queue.length && !runScheduled) {
      runScheduled = true;
      queueMicrotask(runFromMicrotask);
    }
  }
}
