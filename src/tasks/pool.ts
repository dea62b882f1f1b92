import { PoolFull } from './errors.js';
import { Event } from './event.js';
import { Group } from './group.js';
import { suspend, type Operation, type Suspension } from './operation.js';
import type { AnyTask, Task } from './task.js';

/**
 * A group with at most `capacity` tasks at a time, like `gevent.pool.Pool(size)`. When it is
 * full, `spawn` waits for a member to end; waiting spawns get the freed slots in the order
 * they asked. (`size` is the number of members, as for a Group; the limit is `capacity`.)
 *
 * @example
 *   const pool = new Pool(10);
 *   for (const url of urls) yield* pool.spawn(fetchPage, url);   // at most 10 at once
 *   yield* pool.join();
 */
export class Pool implements Iterable<AnyTask> {
  private readonly group = new Group();
  // Each entry starts one waiting spawn's task and hands it over; oldest first.
  private readonly waiting = new Set<() => void>();
  // Set exactly while a slot is free: `waitAvailable` is a wait on it.
  private readonly available = new Event();
  private readonly onEnd = (task: AnyTask) => this.release(task);

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Pool capacity must be a positive integer, not ${capacity}`);
    }
    this.available.set();
  }

  /** How many tasks are in the pool. */
  get size(): number {
    return this.group.size;
  }

  /** Whether `task` is in the pool. */
  has(task: AnyTask): boolean {
    return this.group.has(task);
  }

  /** The members, oldest first. */
  [Symbol.iterator](): Iterator<AnyTask> {
    return this.group[Symbol.iterator]();
  }

  /** Whether every slot is taken. */
  full(): boolean {
    return this.group.size >= this.capacity;
  }

  /** How many more tasks could start now. */
  freeCount(): number {
    return Math.max(0, this.capacity - this.group.size);
  }

  /**
   * Spawns `fn(...args)` in the pool once a slot is free, and resolves to its task. Nothing
   * happens until you `yield*` it (inside a task) or `await` it: that is the wait. A caller
   * killed while it waits gives up its place in line and takes no slot.
   */
  spawn<A extends unknown[], T>(fn: (...args: A) => Operation<T>, ...args: A): Suspension<Task<T>> {
    return suspend<Task<T>>((resume) => {
      // The pool starts the task itself, the moment the slot is free, so a slot is never
      // promised to a caller that might be killed before it could use it.
      const start = () => resume(this.adopt(this.group.spawn(fn, ...args)));
      if (!this.full()) return start();
      this.waiting.add(start);
      return () => this.waiting.delete(start);
    });
  }

  /** Adds a task spawned elsewhere. Unlike `spawn` it cannot wait: throws `PoolFull` when full. */
  add(task: AnyTask): void {
    if (this.group.has(task)) return;
    if (this.full()) throw new PoolFull(this.capacity);
    this.group.add(task);
    if (this.group.has(task)) this.adopt(task); // (a task that has already ended left the group at once)
  }

  /** Removes `task` from the pool without killing it; its slot goes to the next waiting spawn. */
  discard(task: AnyTask): void {
    if (!this.group.has(task)) return;
    task.unlink(this.onEnd);
    this.release(task);
  }

  /** Waits until a slot is free, at most `timeoutMs` if given; resolves to whether one is. */
  waitAvailable(timeoutMs?: number): Suspension<boolean> {
    return this.available.wait(timeoutMs);
  }

  /** Waits until the pool is empty (see `Group.join`). */
  join(timeoutMs?: number): Suspension<boolean> {
    return this.group.join(timeoutMs);
  }

  /** Kills every member. Spawns still waiting for a slot then get the freed slots. */
  kill(): void {
    this.group.kill();
  }

  private adopt<T>(task: Task<T>): Task<T> {
    task.link(this.onEnd);
    this.updateAvailable();
    return task;
  }

  /** Frees `task`'s slot and hands it to the oldest waiting spawn. */
  private release(task: AnyTask): void {
    // The group's own link may already have removed an ended member: discard is idempotent.
    this.group.discard(task);
    for (const start of this.waiting) {
      if (this.full()) break;
      this.waiting.delete(start);
      start();
    }
    this.updateAvailable();
  }

  private updateAvailable(): void {
    if (this.full()) this.available.clear();
    else this.available.set();
  }
}
