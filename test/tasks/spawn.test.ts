import { describe, expect, it } from 'vitest';
import { run, sleep, spawn, taskStats, type Operation } from '../../src/tasks/index.js';

describe('spawn', () => {
  it('returns the handle before the task runs', async () => {
    const order: string[] = [];
    const task = spawn(function* () {
      order.push('task');
      return 7;
    });
    order.push('spawner');
    expect(task.ready()).toBe(false);
    expect(await task.join()).toBe(true);
    expect(order).toEqual(['spawner', 'task']);
    expect(task.value).toBe(7);
    expect(task.successful()).toBe(true);
  });

  it('interleaves tasks at their switch points, as the lesson does', async () => {
    const order: string[] = [];
    function* eat(name: string) {
      order.push(`${name} eat 1`);
      yield* sleep(20);
      order.push(`${name} eat 2`);
    }
    function* play(name: string) {
      order.push(`${name} play 1`);
      yield* sleep(10);
      order.push(`${name} play 2`);
    }
    const g1 = spawn(eat, 'egon');
    const g2 = spawn(play, 'egon');
    await g1.join();
    await g2.join();
    expect(order).toEqual(['egon eat 1', 'egon play 1', 'egon play 2', 'egon eat 2']);
  });

  it('keeps a failure on the task instead of crashing', async () => {
    const failedBefore = taskStats.failed;
    const task = spawn(function* () {
      yield* sleep(0);
      throw new Error('boom');
    });
    expect(await task.join()).toBe(true);
    expect(task.successful()).toBe(false);
    expect((task.exception as Error).message).toBe('boom');
    await expect(task.get()).rejects.toThrow('boom');
    expect(taskStats.failed).toBe(failedBefore + 1);
  });

  it('kill runs finally blocks and ends the task as successful', async () => {
    const cleaned: string[] = [];
    const task = spawn(function* () {
      try {
        yield* sleep(10_000);
      } finally {
        cleaned.push('closed');
      }
    });
    await sleep(5);
    task.kill();
    expect(cleaned).toEqual(['closed']);
    expect(task.dead).toBe(true);
    expect(task.successful()).toBe(true);
    expect(task.killed).toBe(true);
  });

  it('a killed task that never started never runs', async () => {
    let ran = false;
    const task = spawn(function* () {
      ran = true;
    });
    task.kill();
    await sleep(5);
    expect(ran).toBe(false);
    expect(task.ready()).toBe(true);
  });

  it('run bridges an operation to a promise', async () => {
    const value = await run(
      (function* () {
        yield* sleep(1);
        return 'done';
      })(),
    );
    expect(value).toBe('done');
  });
});

describe('misuse', () => {
  it('a task that yields a plain value instead of an operation fails with a TypeError', async () => {
    // The mistake plain JavaScript allows (TypeScript would not): `yield` where `yield*` belongs.
    const body = function* () {
      yield 5;
    } as unknown as () => Operation<void>;
    const task = spawn(body);
    expect(await task.join()).toBe(true);
    expect(task.successful()).toBe(false);
    expect(task.exception).toBeInstanceOf(TypeError);
    expect((task.exception as Error).message).toMatch(/use yield\*/);
  });
});
