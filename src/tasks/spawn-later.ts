import type { Operation } from './operation.js';
import { Task, scheduleStart, type AnyTask } from './task.js';

/**
 * Like `spawn`, but the task starts only after `ms` milliseconds (`gevent.spawn_later`). The
 * handle comes back at once. Killed before its start, the task never runs and its timer is
 * cleared, so nothing is left that would keep the process alive.
 *
 * @example
 *   const reminder = spawnLater(1_000, function* (name: string) { console.log(`hi ${name}`); }, 'tom');
 *   reminder.kill();   // changed our mind: it never runs
 */
export function spawnLater<A extends unknown[], T>(
  ms: number,
  fn: (...args: A) => Operation<T>,
  ...args: A
): Task<T> {
  const task = new Task<T>(() => fn(...args), fn.name || 'task');
  const timer = setTimeout(scheduleStart, ms, task as AnyTask);
  // However the task ends (killed before its start, or after running), the timer is done with.
  task.link(() => clearTimeout(timer));
  return task;
}
