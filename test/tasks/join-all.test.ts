import { describe, expect, it } from 'vitest';
import { Event, joinAll, killAll, sleep, spawn } from '../../src/tasks/index.js';
import { activeTimers, forever } from './fixtures/helpers.js';

describe('joinAll', () => {
  it('waits for every task and returns them all, in the order given', async () => {
    const slow = spawn(function* () { yield* sleep(5); });
    const fast = spawn(function* () { yield* sleep(0); });
    const done = await joinAll([slow, fast]);
    expect(done).toEqual([slow, fast]);
    expect(slow.dead && fast.dead).toBe(true);
  });

  it('with a timeout returns only the tasks that finished', async () => {
    const finishes = spawn(function* () { yield* sleep(0); });
    const hangs = spawn(function* () { yield* forever(); });
    expect(await joinAll([finishes, hangs], 5)).toEqual([finishes]);
    hangs.kill();
  });

  it('counts a task that ended before the call as done, and still waits for the others', async () => {
    const go = new Event();
    const early = spawn(function* () { return 1; });
    await early.join();
    const late = spawn(function* () { yield* go.wait(); });
    let done: unknown[] | undefined;
    const joiner = spawn(function* () { done = yield* joinAll([early, late]); });
    await sleep(0);
    expect(done).toBeUndefined();
    go.set();
    await joiner.join();
    expect(done).toEqual([early, late]);
  });

  it('resolves at once when every task has already ended', async () => {
    const task = spawn(function* () { return 1; });
    await task.join();
    expect(await joinAll([task], 60_000)).toEqual([task]);
    expect(await joinAll([])).toEqual([]);
  });

  it('disarms its timer once every task has ended', async () => {
    const go = new Event();
    const worker = spawn(function* () { yield* go.wait(); });
    const joiner = spawn(function* () { return yield* joinAll([worker], 60_000); });
    await sleep(0);
    const armed = activeTimers();
    go.set();
    expect(joiner.value).toEqual([worker]);
    expect(activeTimers()).toBe(armed - 1);
  });
});

describe('killAll', () => {
  it("kills every task and runs their finally blocks", async () => {
    const cleaned: number[] = [];
    const tasks = [1, 2, 3].map((n) => spawn(function* () { try { yield* forever(); } finally { cleaned.push(n); } }));
    await sleep(0);
    killAll(tasks);
    expect(cleaned).toEqual([1, 2, 3]);
    expect(tasks.every((task) => task.dead && task.killed)).toBe(true);
  });

  it('from inside a task takes effect once it switches; joinAll then waits for them', async () => {
    const cleaned: number[] = [];
    const tasks = [1, 2].map((n) => spawn(function* () { try { yield* forever(); } finally { cleaned.push(n); } }));
    const killer = spawn(function* () {
      killAll(tasks);
      const before = cleaned.length;
      yield* joinAll(tasks);
      return before;
    });
    expect(await killer.get()).toBe(0);
    expect(cleaned).toEqual([1, 2]);
  });
});
