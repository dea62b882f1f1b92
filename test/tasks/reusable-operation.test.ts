import { describe, expect, it } from 'vitest';
import { DONE, NOT_READY, ReusableOperation, sleep, spawn } from '../../src/tasks/index.js';

/** The example from the doc comment: a queue of strings with one reader. */
class NextItem extends ReusableOperation<string> {
  items: string[] = [];
  polls = 0;
  protected poll(): string | typeof NOT_READY {
    this.polls++;
    return this.items.shift() ?? NOT_READY;
  }
  push(item: string): boolean {
    if (this.wake(item)) return true;
    this.items.push(item);
    return false;
  }
}

describe('ReusableOperation', () => {
  it('completes without switching when the value is ready', async () => {
    const next = new NextItem();
    next.items.push('ready');
    let switched = false;
    const task = spawn(function* () {
      const value = yield* next;
      switched = next.hasWaiter;
      return value;
    });
    expect(await task.get()).toBe('ready');
    expect([switched, next.polls]).toEqual([false, 1]);
  });

  it('parks the task while nothing is ready and resumes it with the woken value', async () => {
    const next = new NextItem();
    const task = spawn(function* () {
      return [yield* next, yield* next];
    });
    await sleep(0);
    expect(next.hasWaiter).toBe(true);
    expect(next.push('one')).toBe(true); // handed to the waiter, not queued
    expect(next.push('two')).toBe(true);
    expect(await task.get()).toEqual(['one', 'two']);
    expect(next.hasWaiter).toBe(false);
  });

  it('refuses a wake-up when no task waits: the caller keeps the value', () => {
    const next = new NextItem();
    expect(next.push('kept')).toBe(false);
    expect(next.items).toEqual(['kept']);
  });

  it('forgets a waiter that is killed, so a later value is not handed to a dead task', async () => {
    const next = new NextItem();
    const task = spawn(function* () {
      return yield* next;
    });
    await sleep(0);
    task.kill();
    expect(next.hasWaiter).toBe(false);
    expect(next.push('later')).toBe(false);
    expect(task.value).toBeUndefined();
  });

  it('serves one waiter after another: the same object, waited on again', async () => {
    const next = new NextItem();
    const first = spawn(function* () {
      return yield* next;
    });
    await sleep(0);
    next.push('a');
    expect(await first.get()).toBe('a');
    const second = spawn(function* () {
      return yield* next;
    });
    await sleep(0);
    next.push('b');
    expect(await second.get()).toBe('b');
  });

  it('delivers an error thrown into a task parked on it (a timeout) and resets for the next wait', async () => {
    const next = new NextItem();
    const task = spawn(function* () {
      try {
        yield* next;
      } catch (error) {
        return `caught ${(error as Error).message}`;
      }
      return 'no error';
    });
    await sleep(0);
    expect(task.throwIn(new Error('boom'))).toBe(true);
    expect(await task.get()).toBe('caught boom');
    next.items.push('x');
    const again = spawn(function* () {
      return yield* next;
    });
    expect(await again.get()).toBe('x');
  });

  it('DONE completes at once, for everyone', async () => {
    const task = spawn(function* () {
      yield* DONE;
      yield* DONE;
      return 'through';
    });
    expect(await task.get()).toBe('through');
  });
});
