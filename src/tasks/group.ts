import { Event } from './event.js';
import { killAll } from './join-all.js';
import type { Operation, Suspension } from './operation.js';
import { spawn } from './spawn.js';
import type { AnyTask, Task } from './task.js';

/**
 * An unbounded set of tasks that can be joined and killed as one, like `gevent.pool.Group`.
 * A member leaves the group when it ends, so the group holds exactly the live tasks you gave it.
 *
 * @example
 *   const clients = new Group();
 *   for (;;) clients.spawn(talk, yield* server.accept());
 *   // at shutdown:
 *   clients.kill();
 *   yield* clients.join();
 */
export class Group implements Iterable<AnyTask> {
  private readonly members = new Set<AnyTask>();
  // Set exactly while the group is empty: `join` is a wait on it.
  private readonly empty = new Event();
  private readonly onEnd = (task: AnyTask) => this.discard(task);

  constructor() {
    this.empty.set();
  }

  /** How many tasks are in the group. */
  get size(): number {
    return this.members.size;
  }

  /** Always false: a group has no limit (as in gevent; a `Pool` can be full). */
  full(): boolean {
    return false;
  }

  /** Whether `task` is in the group. */
  has(task: AnyTask): boolean {
    return this.members.has(task);
  }

  /** The members, oldest first. */
  [Symbol.iterator](): Iterator<AnyTask> {
    return this.members.values();
  }

  /** Spawns `fn(...args)` (see `spawn`) and adds the task to the group. */
  spawn<A extends unknown[], T>(fn: (...args: A) => Operation<T>, ...args: A): Task<T> {
    const task = spawn(fn, ...args);
    this.add(task);
    return task;
  }

  /** Adds a task spawned elsewhere. A task that has already ended leaves again at once. */
  add(task: AnyTask): void {
    if (this.members.has(task)) return;
    this.members.add(task);
    this.empty.clear();
    task.link(this.onEnd);
  }

  /** Removes `task` from the group without killing it. */
  discard(task: AnyTask): void {
    if (!this.members.delete(task)) return;
    task.unlink(this.onEnd);
    if (this.members.size === 0) this.empty.set();
  }

  /**
   * Waits until the group is empty, at most `timeoutMs` if given; members added meanwhile are
   * waited for too. Never throws, even when members fail: resolves to whether the group emptied.
   */
  join(timeoutMs?: number): Suspension<boolean> {
    return this.empty.wait(timeoutMs);
  }

  /** Kills every member (see `Task.kill`); they leave the group as they end. */
  kill(): void {
    killAll(this.members);
  }
}
