import { NOT_READY, ReusableOperation } from './reusable-operation.js';

/** Told when a mailbox has just filled up (stop producing) and when it is empty again (go on). */
export interface MailboxHooks {
  nowFull(): void;
  nowEmpty(): void;
}

const NO_HOOKS: MailboxHooks = { nowFull() {}, nowEmpty() {} };

/**
 * A queue with exactly one reader, for hot paths: code outside any task (a socket's events)
 * puts items in, one task takes them with `yield* mailbox`, switching only while it is empty,
 * and gets `null` once the mailbox has ended and is empty. It is one reusable switch point:
 * an item put while the task waits goes straight to it, and nothing is allocated per item
 * (the backlog array exists only once the task has fallen behind).
 *
 * `put` never refuses an item; instead the hooks say when the backlog has reached
 * `highWaterMark` (`nowFull`: pause the producer) and when the task has taken it all again
 * (`nowEmpty`: resume it). That is how a connection applies backpressure to its socket.
 *
 * @example
 *   const chunks = new Mailbox<Buffer>({ nowFull: () => socket.pause(), nowEmpty: () => socket.resume() });
 *   socket.on('data', (chunk) => chunks.put(chunk));
 *   socket.on('end', () => chunks.end());
 *   for (let chunk; (chunk = yield* chunks) !== null; ) handle(chunk);
 */
export class Mailbox<T> extends ReusableOperation<T | null> {
  private backlog: T[] | undefined;
  private ended = false;
  private full = false;

  constructor(
    private readonly hooks: MailboxHooks = NO_HOOKS,
    private readonly highWaterMark = 1,
  ) {
    super();
  }

  /** Items waiting for the reader. */
  get size(): number {
    return this.backlog?.length ?? 0;
  }

  /** Whether `end` was called: no more items will come. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Hands `item` to the waiting task at once (it runs now), or queues it. Ignored once ended. */
  put(item: T): void {
    if (this.ended) return;
    if (this.wake(item)) return;
    const backlog = (this.backlog ??= []);
    backlog.push(item);
    if (backlog.length >= this.highWaterMark && !this.full) {
      this.full = true;
      this.hooks.nowFull();
    }
  }

  /**
   * Gives an item back to the front of the queue, as if it had not been taken: the reader gets
   * it next (a parser that read past what it needed returns the rest). Works after `end` too,
   * since the item came before the end. It does not pause the producer on its own: the reader
   * that gave it back takes it again next, and a pause and resume in between would cost a
   * socket two epoll_ctl calls for nothing (a PROXY header with data behind it, on every
   * connection); an item put behind it does.
   */
  unget(item: T): void {
    if (this.wake(item)) return;
    (this.backlog ??= []).unshift(item);
  }

  /** No more items: the reader gets what is queued, then `null`. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.size === 0) this.wake(null);
  }

  /** Drops the queued items (they have nowhere to go) and returns them. */
  discard(): T[] {
    const dropped = this.backlog ?? [];
    this.backlog = undefined;
    return dropped;
  }

  protected poll(): T | null | typeof NOT_READY {
    const backlog = this.backlog;
    if (backlog !== undefined && backlog.length > 0) {
      const item = backlog.shift()!;
      if (backlog.length === 0 && this.full) {
        this.full = false;
        if (!this.ended) this.hooks.nowEmpty();
      }
      return item;
    }
    return this.ended ? null : NOT_READY;
  }
}
