import { QueueEmpty, QueueFull } from './errors.js';
import { suspend, type Resume, type Suspension } from './operation.js';

interface Putter<T> {
  item: T;
  resume: Resume<void>;
}

/**
 * A first-in, first-out queue between tasks, like `gevent.queue.Queue(maxsize)`: the
 * producer/consumer channel of the lesson (`docs/lesson.md`). `get` waits while the queue is
 * empty; `put` waits while it holds `maxsize` items (a bounded queue makes a fast producer
 * wait for its consumer). Items come out in the order they went in, and waiting tasks are
 * served in the order they started waiting. `maxsize` 0 makes every put wait for a getter (a
 * rendezvous).
 *
 * @example
 *   const q = new Queue<string>(10);
 *   spawn(function* () { for (const line of lines) yield* q.put(line); });
 *   spawn(function* () { for (;;) console.log(yield* q.get()); });
 */
export class Queue<T> {
  private readonly items: T[] = [];
  // Waiters, oldest first. A Set keeps insertion order and lets a waiter that gives up (killed,
  // timed out) remove itself in its park's undo, so no item is ever handed to a dead task.
  private readonly getters = new Set<Resume<T>>();
  private readonly putters = new Set<Putter<T>>();

  constructor(readonly maxsize = Infinity) {}

  /** How many items the queue holds. */
  get size(): number {
    return this.items.length;
  }

  /** Whether the queue holds no item (a `get` now would wait). */
  empty(): boolean {
    return this.items.length === 0;
  }

  /** Whether the queue holds `maxsize` items (a `put` now would wait). */
  full(): boolean {
    return this.items.length >= this.maxsize;
  }

  /**
   * Adds `item` without waiting: hands it straight to the oldest waiting getter if there is
   * one, else appends it. Throws `QueueFull` when there is no room.
   */
  putNowait(item: T): void {
    const getter = first(this.getters);
    if (getter) {
      // Handing over at once, rather than waking the getter to fetch it later, means no newer
      // getter can take the item first. The woken getter is certain to receive it: a wake-up
      // the hub has queued is delivered even if the task is killed meanwhile (it halts at its
      // next switch point, see Task.kill), so the item cannot vanish between the two.
      this.getters.delete(getter);
      getter(item);
      return;
    }
    if (this.full()) throw new QueueFull();
    this.items.push(item);
  }

  /** Takes the oldest item without waiting. Throws `QueueEmpty` when there is none. */
  getNowait(): T {
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      this.admitPutter();
      return item;
    }
    // Empty but with a putter waiting: only possible with maxsize 0. Take its item directly.
    const putter = first(this.putters);
    if (!putter) throw new QueueEmpty();
    this.putters.delete(putter);
    putter.resume();
    return putter.item;
  }

  /** Adds `item`, waiting while the queue is full. */
  put(item: T): Suspension<void> {
    return suspend<void>((resume) => {
      if (this.getters.size > 0 || !this.full()) {
        this.putNowait(item);
        return resume();
      }
      const putter = { item, resume };
      this.putters.add(putter);
      return () => this.putters.delete(putter);
    });
  }

  /** Takes the oldest item, waiting while the queue is empty. */
  get(): Suspension<T> {
    return suspend<T>((resume) => {
      if (this.items.length > 0 || this.putters.size > 0) return resume(this.getNowait());
      this.getters.add(resume);
      return () => this.getters.delete(resume);
    });
  }

  /** A slot came free: move the oldest waiting putter's item in, and let that putter go on. */
  private admitPutter(): void {
    const putter = first(this.putters);
    if (!putter || this.full()) return;
    this.putters.delete(putter);
    this.items.push(putter.item);
    putter.resume();
  }
}

function first<V>(set: Set<V>): V | undefined {
  for (const value of set) return value;
  return undefined;
}
