import { suspend, type Suspension } from './operation.js';
import type { AnyTask } from './task.js';

/**
 * Waits for every task to end, at most `timeoutMs` if given, like `gevent.joinall`. Never
 * throws: resolves to the tasks that have ended (in the order given), which is all of them
 * unless the time ran out first. `yield*` it inside a task or `await` it outside one.
 *
 * @example
 *   const done = yield* joinAll([a, b, c], 1_000);
 *   if (done.length < 3) console.log('some are still running');
 */
export function joinAll<T extends AnyTask>(tasks: Iterable<T>, timeoutMs?: number): Suspension<T[]> {
  const list = [...tasks];
  const ended = () => list.filter((task) => task.ready());
  return suspend<T[]>((resume) => {
    let pending = list.length - ended().length;
    if (pending === 0) return resume(list);
    const onEnd = () => {
      if (--pending === 0) resume(list);
    };
    for (const task of list) if (!task.ready()) task.link(onEnd);
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => resume(ended()), timeoutMs);
    return () => {
      for (const task of list) task.unlink(onEnd);
      clearTimeout(timer);
    };
  });
}

/**
 * Kills every task, like `gevent.killall`: each stops at its switch point and runs its
 * `finally` blocks (see `Task.kill`). To wait until they have all ended, `joinAll` them.
 *
 * @example
 *   killAll(workers);
 *   yield* joinAll(workers);
 */
export function killAll(tasks: Iterable<AnyTask>): void {
  // Copy first: a killed task may leave a collection (a Group) that `tasks` iterates.
  for (const task of [...tasks]) task.kill();
}
