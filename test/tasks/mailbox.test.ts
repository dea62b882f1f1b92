import { describe, expect, it } from 'vitest';
import { Mailbox, sleep, spawn, type Operation } from '../../src/tasks/index.js';

/** Hooks that record when they were called. */
function recorder(): { calls: string[]; nowFull(): void; nowEmpty(): void } {
  const calls: string[] = [];
  return { calls, nowFull: () => calls.push('full'), nowEmpty: () => calls.push('empty') };
}

/** A reader that takes items until the end, recording each (and the end as null). */
function* readAll<T>(mailbox: Mailbox<T>, into: Array<T | null>): Operation<void> {
  const next: Operation<T | null> = mailbox;
  for (;;) {
    const item = yield* next;
    into.push(item);
    if (item === null) return;
  }
}

describe('Mailbox', () => {
  it('hands an item to the waiting reader at once, before put returns', async () => {
    const mailbox = new Mailbox<string>();
    const got: Array<string | null> = [];
    spawn(readAll<string>, mailbox, got);
    await sleep(0); // the reader is now waiting
    mailbox.put('a');
    expect(got).toEqual(['a']);
    expect(mailbox.size).toBe(0);
  });

  it('queues items while the reader is busy and gives them back in order, then null after end', async () => {
    const mailbox = new Mailbox<number>(undefined, 10);
    for (const n of [1, 2, 3]) mailbox.put(n);
    mailbox.end();
    expect(mailbox.size).toBe(3);
    const got: Array<number | null> = [];
    await spawn(readAll<number>, mailbox, got).join();
    expect(got).toEqual([1, 2, 3, null]);
  });

  it('says it is full when the backlog reaches the high-water mark, and empty when the reader took it all', async () => {
    const hooks = recorder();
    const mailbox = new Mailbox<number>(hooks, 2);
    mailbox.put(1);
    expect(hooks.calls).toEqual([]);
    mailbox.put(2);
    mailbox.put(3); // past the mark: put never refuses, and says full only once
    expect(hooks.calls).toEqual(['full']);
    const got: Array<number | null> = [];
    const reader = spawn(readAll<number>, mailbox, got);
    await sleep(0);
    expect(got).toEqual([1, 2, 3]);
    expect(hooks.calls).toEqual(['full', 'empty']);
    mailbox.end();
    await reader.join();
    expect(got).toEqual([1, 2, 3, null]);
  });

  it('gives an item given back first, without pausing the producer; an item put behind it does', async () => {
    const hooks = recorder();
    const mailbox = new Mailbox<string>(hooks, 1);
    mailbox.unget('rest of the first read');
    expect([mailbox.size, hooks.calls]).toEqual([1, []]);
    mailbox.put('second read');
    expect(hooks.calls).toEqual(['full']);
    mailbox.unget('given back again');
    const got: Array<string | null> = [];
    mailbox.end();
    await spawn(readAll<string>, mailbox, got).join();
    expect(got).toEqual(['given back again', 'rest of the first read', 'second read', null]);
    expect(hooks.calls).toEqual(['full']); // no resume after the end
  });

  it('does not call nowEmpty for a backlog that never was full, nor after the end', async () => {
    const hooks = recorder();
    const mailbox = new Mailbox<number>(hooks, 1);
    mailbox.put(1); // full at one
    mailbox.end();
    const got: Array<number | null> = [];
    await spawn(readAll<number>, mailbox, got).join();
    expect(got).toEqual([1, null]);
    expect(hooks.calls).toEqual(['full']); // ended: nothing to resume
  });

  it('wakes a waiting reader with null at the end, ignores items put after it, and drops discarded ones', async () => {
    const mailbox = new Mailbox<string>(undefined, 5);
    const got: Array<string | null> = [];
    const reader = spawn(readAll<string>, mailbox, got);
    await sleep(0);
    mailbox.end();
    mailbox.put('late');
    await reader.join();
    expect(got).toEqual([null]);

    const other = new Mailbox<string>(undefined, 5);
    other.put('x');
    other.put('y');
    expect(other.discard()).toEqual(['x', 'y']);
    expect(other.size).toBe(0);
  });

  it('allocates nothing per item while the reader keeps up: the same operation object every time', async () => {
    const mailbox = new Mailbox<number>();
    const seen = new Set<unknown>();
    const reader = spawn(function* () {
      let total = 0;
      for (;;) {
        const operation: Operation<number | null> = mailbox;
        seen.add(operation[Symbol.iterator]());
        const item = yield* operation;
        if (item === null) return total;
        total += item;
      }
    });
    await sleep(0);
    for (let n = 1; n <= 100; n++) mailbox.put(n);
    mailbox.end();
    expect(await reader.get()).toBe(5050);
    expect(seen.size).toBe(1);
  });
});
