import type { Operation } from './operation.js';
import { Task, scheduleStart, type AnyTask } from './task.js';

/**
 * Starts a task running `fn(...args)` and returns its handle at once; the task itself first
 * runs when the caller next switches (or, outside any task, right after the current
 * synchronous code), as `gevent.spawn` schedules rather than runs.
 *
 * @example
 *   function* talk(name: string) { yield* sleep(10); return `hello ${name}`; }
 *   const task = spawn(talk, 'tom');
 */
export function spawn<A extends unknown[], T>(fn: (...args: A) => Operation<T>, ...args: A): Task<T> {
  const task = new Task<T>(() => fn(...args), fn.name || 'task');
  scheduleStart(task as AnyTask);
  return task;
}

/**
 * Runs an operation in a task of its own and resolves with its result: the bridge from
 * promise-based code (tests, the CLI) into the task world.
 *
 * @example
 *   const value = await run(function* () { yield* sleep(5); return 1; }());
 */
export function run<T>(operation: Operation<T>): Promise<T> {
  const task = spawn(function* run() {
    return yield* operation;
  });
  return Promise.resolve(task.get());
}
