import { describe, expect, it } from 'vitest';
import { Queue, QueueEmpty, QueueFull, sleep, spawn, withTimeout } from '../../src/tasks/index.js';

/** A consumer that gets items forever, recording each. */
function* collect<T>(queue: Queue<T>, into: T[]) {
  for (;;) into.push(yield* queue.get());
}

describe('Queue', () => {
  it('gives items back in the order they were put, and tracks size, empty and full', () => {
    const queue = new Queue<number>(2);
    expect([queue.size, queue.empty(), queue.full()]).toEqual([0, true, false]);
    queue.putNowait(1);
    queue.putNowait(2);
    expect([queue.size, queue.empty(), queue.full()]).toEqual([2, false, true]);
    expect([queue.getNowait(), queue.getNowait()]).toEqual([1, 2]);
    expect(queue.empty()).toBe(true);
  });

  it('throws QueueFull (EQUEUEFULL) and QueueEmpty (EQUEUEEMPTY) instead of waiting', () => {
    const queue = new Queue<number>(1);
    expect(() => queue.getNowait()).toThrow(QueueEmpty);
    queue.putNowait(1);
    expect(() => queue.putNowait(2)).toThrow(QueueFull);
    const codes = [() => queue.putNowait(2), () => { queue.getNowait(); queue.getNowait(); }].map((fn) => {
      try { fn(); return 'no error'; } catch (error) { return (error as { code: string }).code; }
    });
    expect(codes).toEqual(['EQUEUEFULL', 'EQUEUEEMPTY']);
  });

  it('makes get wait while the queue is empty', async () => {
    const queue = new Queue<string>();
    const getter = spawn(function* () { return yield* queue.get(); });
    await sleep(0);
    expect(getter.ready()).toBe(false);
    queue.putNowait('hello');
    expect(await getter.get()).toBe('hello');
  });

  it('serves waiting getters in the order they started waiting', async () => {
    const queue = new Queue<number>();
    const got: string[] = [];
    const getters = ['a', 'b', 'c'].map((name) => spawn(function* () { got.push(`${name}${yield* queue.get()}`); }));
    await sleep(0);
    for (const n of [1, 2, 3]) queue.putNowait(n);
    for (const getter of getters) await getter.join();
    expect(got).toEqual(['a1', 'b2', 'c3']);
  });

  it('makes put wait while a bounded queue is full, and lets waiting putters in, in order', async () => {
    const queue = new Queue<string>(1);
    queue.putNowait('first');
    const putters = ['a', 'b'].map((item) => spawn(function* () { yield* queue.put(item); }));
    await sleep(0);
    expect([putters[0]!.ready(), putters[1]!.ready(), queue.size]).toEqual([false, false, 1]);
    expect(queue.getNowait()).toBe('first');
    expect(queue.getNowait()).toBe('a');
    expect(queue.getNowait()).toBe('b');
    for (const putter of putters) await putter.join();
    expect(queue.empty()).toBe(true);
  });

  it('carries every item from producer to consumer in order, as in the lesson', async () => {
    const queue = new Queue<number>();
    const received: number[] = [];
    const producer = spawn(function* () {
      for (let i = 0; i < 100; i++) {
        yield* queue.put(i);
        yield* sleep(0); // a switch point between items, as if the producer did I/O
      }
    });
    const consumer = spawn(collect<number>, queue, received);
    await producer.join();
    await sleep(0);
    consumer.kill();
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('makes a fast producer wait for a slow consumer when the queue is bounded', async () => {
    const queue = new Queue<number>(2);
    const received: number[] = [];
    let waits = 0;
    let most = 0;
    const producer = spawn(function* () {
      for (let i = 0; i < 50; i++) {
        if (queue.full()) waits++;
        yield* queue.put(i);
        most = Math.max(most, queue.size);
      }
    });
    const consumer = spawn(function* () {
      for (let i = 0; i < 50; i++) {
        received.push(yield* queue.get());
        yield* sleep(0);
      }
    });
    await producer.join();
    await consumer.join();
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(most).toBe(2);
    // Three puts go in without waiting: the two free places, and the one the consumer frees
    // in the first turn, before its first sleep. From then on the consumer takes one item per
    // turn, so every later put finds the queue full and waits for it.
    expect(waits).toBe(50 - 3);
  });

  it('keeps an item put after its waiting getter was killed', async () => {
    const queue = new Queue<string>();
    const received: string[] = [];
    const getter = spawn(collect<string>, queue, received);
    await sleep(0);
    getter.kill();
    queue.putNowait('kept');
    expect([received, queue.size]).toEqual([[], 1]);
    expect(await queue.get()).toBe('kept');
  });

  it('does not lose an item handed to a getter that is killed before it runs', async () => {
    const queue = new Queue<string>();
    const received: string[] = [];
    const getter = spawn(collect<string>, queue, received);
    await sleep(0);
    const producer = spawn(function* () {
      queue.putNowait('handed'); // the getter is woken, but runs only once we switch...
      getter.kill(); // ...and is killed before that
      yield* sleep(0);
    });
    await producer.join();
    expect(getter.dead).toBe(true);
    // The item is somewhere: taken by the getter (which halts at its next switch point, as
    // Task.kill documents) or still in the queue. Never gone.
    expect(received.length + queue.size).toBe(1);
  });

  it('adds nothing for a putter killed while it waited', async () => {
    const queue = new Queue<string>(1);
    queue.putNowait('first');
    const putter = spawn(function* () { yield* queue.put('never added'); });
    await sleep(0);
    putter.kill();
    expect(queue.getNowait()).toBe('first');
    expect(queue.empty()).toBe(true);
  });

  it('forgets a getter that timed out, so the next item stays in the queue', async () => {
    const queue = new Queue<string>();
    const getter = spawn(function* () { return yield* withTimeout(5, queue.get(), 'nothing'); });
    expect(await getter.get()).toBe('nothing');
    queue.putNowait('later');
    expect(queue.size).toBe(1);
  });

  it('can be awaited outside any task', async () => {
    const queue = new Queue<number>(1);
    const got = queue.get();
    const pending = got.then((n) => n * 10);
    await queue.put(4);
    expect(await pending).toBe(40);
  });

  it('with maxsize 0 hands each item from a waiting putter straight to a getter', async () => {
    const queue = new Queue<string>(0);
    expect(() => queue.putNowait('x')).toThrow(QueueFull);
    const putter = spawn(function* () { yield* queue.put('direct'); return 'put done'; });
    await sleep(0);
    expect(queue.size).toBe(0);
    expect(await queue.get()).toBe('direct');
    expect(await putter.get()).toBe('put done');
  });
});
