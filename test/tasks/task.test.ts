import { beforeEach, describe, expect, it } from 'vitest';
import { Event, currentTask, sleep, spawn, taskStats, type AnyTask } from '../../src/tasks/index.js';
import { collectFailures, forever } from './fixtures/helpers.js';

let failures: ReturnType<typeof collectFailures>;
beforeEach(() => {
  failures = collectFailures();
});

describe('task ordering', () => {
  it('starts tasks in the order they were spawned', async () => {
    const order: number[] = [];
    const tasks = [1, 2, 3].map((n) => spawn(function* () { order.push(n); }));
    for (const task of tasks) await task.join();
    expect(order).toEqual([1, 2, 3]);
  });

  it('runs a task woken from inside another task only after that task switches', async () => {
    const order: string[] = [];
    const go = new Event();
    const waiter = spawn(function* () { yield* go.wait(); order.push('waiter woke'); });
    const setter = spawn(function* () { go.set(); order.push('setter goes on'); yield* sleep(0); order.push('setter back'); });
    await setter.join();
    await waiter.join();
    expect(order).toEqual(['setter goes on', 'waiter woke', 'setter back']);
  });

  it('runs a task woken from outside any task at once', async () => {
    const order: string[] = [];
    const go = new Event();
    const waiter = spawn(function* () { yield* go.wait(); order.push('waiter woke'); });
    await sleep(0); // let it start and park
    go.set();
    order.push('after set');
    expect(order).toEqual(['waiter woke', 'after set']);
    expect(waiter.dead).toBe(true);
  });
});

describe('task results', () => {
  it('reports value, exception, ready, successful and dead at each stage', async () => {
    const go = new Event();
    const task = spawn(function* () { yield* go.wait(); return 'v'; });
    expect([task.ready(), task.dead, task.successful(), task.value]).toEqual([false, false, false, undefined]);
    await sleep(0);
    expect(task.ready()).toBe(false);
    go.set();
    expect([task.ready(), task.dead, task.successful(), task.value, task.exception]).toEqual([true, true, true, 'v', undefined]);
  });

  it('keeps a failure as the exception, reports it once, and get re-throws the same error', async () => {
    const boom = new Error('boom');
    const task = spawn(function* () { yield* sleep(0); throw boom; });
    expect(await task.join()).toBe(true);
    expect([task.ready(), task.dead, task.successful(), task.value]).toEqual([true, true, false, undefined]);
    expect(task.exception).toBe(boom);
    await expect(task.get()).rejects.toBe(boom);
    expect(failures).toEqual([{ task, error: boom }]);
  });

  it('re-throws a failure into the task that gets it, which can catch it', async () => {
    const failing = spawn(function* () { throw new Error('inner'); });
    const caller = spawn(function* () {
      try {
        yield* failing.get();
        return 'no error';
      } catch (error) {
        return `caught ${(error as Error).message}`;
      }
    });
    expect(await caller.get()).toBe('caught inner');
  });

  it('join never throws, even for a failed task, inside a task or outside', async () => {
    const failing = spawn(function* () { throw new Error('x'); });
    const joiner = spawn(function* () { return yield* failing.join(); });
    expect(await joiner.get()).toBe(true);
    expect(await failing.join()).toBe(true);
  });

  it('join with a timeout resolves to false while the task still runs', async () => {
    const task = spawn(function* () { yield* forever(); });
    expect(await task.join(5)).toBe(false);
    expect(task.ready()).toBe(false);
    task.kill();
    expect(await task.join(5)).toBe(true);
  });

  it('counts active tasks back down when they end', async () => {
    const active = taskStats.active;
    const task = spawn(function* () { yield* sleep(0); });
    expect(taskStats.active).toBe(active + 1);
    await task.join();
    expect(taskStats.active).toBe(active);
  });
});

describe('task links', () => {
  it('calls a link once, with the task, when the task ends', async () => {
    const seen: AnyTask[] = [];
    const task = spawn(function* () { yield* sleep(0); });
    task.link((t) => seen.push(t));
    await task.join();
    expect(seen).toEqual([task]);
  });

  it('calls a link added after the end at once', async () => {
    const task = spawn(function* () { return 1; });
    await task.join();
    let called = 0;
    task.link(() => called++);
    expect(called).toBe(1);
  });

  it('does not call an unlinked callback', async () => {
    let called = 0;
    const callback = () => called++;
    const task = spawn(function* () { yield* sleep(0); });
    task.link(callback);
    task.unlink(callback);
    await task.join();
    expect(called).toBe(0);
  });
});

describe('task kill', () => {
  it('from outside a task runs the finally blocks before kill returns', async () => {
    const log: string[] = [];
    const task = spawn(function* () { try { yield* forever(); } finally { log.push('cleanup'); } });
    await sleep(0);
    task.kill();
    expect(log).toEqual(['cleanup']);
    expect([task.dead, task.successful(), task.killed]).toEqual([true, true, true]);
  });

  it("from inside a task runs the victim's finally blocks once the killer switches", async () => {
    const log: string[] = [];
    const victim = spawn(function* () { try { yield* forever(); } finally { log.push('victim cleanup'); } });
    const killer = spawn(function* () {
      victim.kill();
      log.push('killer goes on');
      yield* victim.join();
      log.push('killer joined');
    });
    await killer.join();
    expect(log).toEqual(['killer goes on', 'victim cleanup', 'killer joined']);
  });

  it('of itself stops the task at its next switch point', async () => {
    const log: string[] = [];
    const task = spawn(function* () {
      try {
        currentTask()!.kill();
        log.push('still running until the next switch point');
        yield* sleep(0);
        log.push('never');
      } finally {
        log.push('cleanup');
      }
    });
    await task.join();
    expect(log).toEqual(['still running until the next switch point', 'cleanup']);
    expect(task.successful()).toBe(true);
  });

  it('is idempotent: cleanup and links run once', async () => {
    let cleanups = 0;
    let links = 0;
    const active = taskStats.active;
    const task = spawn(function* () { try { yield* forever(); } finally { cleanups++; } });
    task.link(() => links++);
    await sleep(0);
    task.kill();
    task.kill();
    await task.join();
    task.kill();
    expect([cleanups, links, taskStats.active]).toEqual([1, 1, active]);
  });

  it('of a task that has not started: it never runs, yet ends and calls its links', async () => {
    let ran = false;
    let linked = 0;
    const task = spawn(function* () { ran = true; });
    task.link(() => linked++);
    task.kill();
    expect([task.dead, task.successful(), linked]).toEqual([true, true, 1]);
    await sleep(0);
    expect(ran).toBe(false);
  });

  it('lets a cleanup that switches finish before join resolves', async () => {
    const log: string[] = [];
    const task = spawn(function* () {
      try { yield* forever(); } finally { yield* sleep(1); log.push('slow cleanup done'); }
    });
    await sleep(0);
    task.kill();
    expect(task.dead).toBe(false);
    await task.join();
    expect(log).toEqual(['slow cleanup done']);
  });

  it('of a task that already ended changes nothing', async () => {
    const task = spawn(function* () { return 5; });
    await task.join();
    task.kill();
    expect([task.value, task.killed, task.successful()]).toEqual([5, false, true]);
  });
});
