/**
 * The runtime's errors, in one place so their `code`s are easy to find. Callers should test
 * `error.code` (or `instanceof`), never the message text.
 */

/**
 * Thrown into a task by `timeout` when its deadline passes, and out of `timeout` to the caller.
 * Each `timeout` call throws its own instance, so nested deadlines tell theirs apart by identity.
 *
 * @example
 *   try { yield* timeout(100, conn.recv()); }
 *   catch (error) { if (error instanceof TimeoutError) ... }
 */
export class TimeoutError extends Error {
  readonly code = 'ETASKTIMEOUT';
  constructor(readonly ms: number) {
    super(`operation timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Thrown by `Queue.putNowait` when the queue already holds `maxsize` items. */
export class QueueFull extends Error {
  readonly code = 'EQUEUEFULL';
  constructor() {
    super('queue is full');
    this.name = 'QueueFull';
  }
}

/** Thrown by `Queue.getNowait` when the queue holds no item. */
export class QueueEmpty extends Error {
  readonly code = 'EQUEUEEMPTY';
  constructor() {
    super('queue is empty');
    this.name = 'QueueEmpty';
  }
}

/** Thrown by `Pool.add` when every slot is taken (`Pool.spawn` waits instead). */
export class PoolFull extends Error {
  readonly code = 'EPOOLFULL';
  constructor(readonly capacity: number) {
    super(`pool is full (${capacity} tasks)`);
    this.name = 'PoolFull';
  }
}

/** Thrown by operations that only make sense inside a task (such as `timeout`) when used outside one. */
export class NotInTaskError extends Error {
  readonly code = 'ENOTINTASK';
  constructor(what: string) {
    super(`${what} must run inside a task (spawn it, or wrap it in run())`);
    this.name = 'NotInTaskError';
  }
}
