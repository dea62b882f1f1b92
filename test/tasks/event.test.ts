import { describe, expect, it } from 'vitest';
import { Event, sleep, spawn } from '../../src/tasks/index.js';
import { activeTimers } from './fixtures/helpers.js';

describe('Event', () => {
  it('starts cleared; set and clear change isSet', () => {
    const event = new Event();
    expect(event.isSet()).toBe(false);
    event.set();
    expect(event.isSet()).toBe(true);
    event.clear();
    expect(event.isSet()).toBe(false);
  });

  it('wakes every waiter, tasks and awaiting code alike, oldest first', async () => {
    const event = new Event();
    const woke: string[] = [];
    const tasks = ['a', 'b'].map((name) => spawn(function* () { woke.push(`${name}:${yield* event.wait()}`); }));
    const outside = event.wait().then((value) => woke.push(`outside:${value}`));
    await sleep(0);
    expect(woke).toEqual([]);
    event.set();
    await outside;
    for (const task of tasks) await task.join();
    expect(woke).toEqual(['a:true', 'b:true', 'outside:true']);
  });

  it('lets a wait on a set flag return true at once', async () => {
    const event = new Event();
    event.set();
    expect(await event.wait()).toBe(true);
  });

  it('makes later waits wait again after clear', async () => {
    const event = new Event();
    event.set();
    event.clear();
    expect(await event.wait(5)).toBe(false);
  });

  it('resolves a wait to false when its time runs out, inside a task or outside', async () => {
    const event = new Event();
    const task = spawn(function* () { return yield* event.wait(5); });
    expect(await event.wait(5)).toBe(false);
    expect(await task.get()).toBe(false);
    expect(event.isSet()).toBe(false);
  });

  it('disarms the timer of a wait that the flag ended', async () => {
    const event = new Event();
    const task = spawn(function* () { return yield* event.wait(60_000); });
    await sleep(0);
    const armed = activeTimers();
    event.set();
    expect(task.value).toBe(true);
    expect(activeTimers()).toBe(armed - 1);
  });

  it('does not wake a waiter that was killed', async () => {
    const event = new Event();
    let woke = false;
    const task = spawn(function* () { yield* event.wait(); woke = true; });
    await sleep(0);
    task.kill();
    event.set();
    await sleep(0);
    expect(woke).toBe(false);
  });

  it('puts a waiter that waits again after a clear into the next round, not this one', async () => {
    const event = new Event();
    let rounds = 0;
    const task = spawn(function* () {
      for (;;) {
        yield* event.wait();
        rounds++;
        event.clear();
      }
    });
    await sleep(0);
    event.set(); // the task runs at once, clears, waits again
    expect(rounds).toBe(1);
    event.set();
    expect(rounds).toBe(2);
    task.kill();
  });
});
