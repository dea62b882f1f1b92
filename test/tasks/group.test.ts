import { beforeEach, describe, expect, it } from 'vitest';
import { Event, Group, sleep, spawn } from '../../src/tasks/index.js';
import { collectFailures, forever } from './fixtures/helpers.js';

beforeEach(() => {
  collectFailures();
});

describe('Group', () => {
  it('holds its members until they end, then lets them go', async () => {
    const group = new Group();
    const go = new Event();
    const a = group.spawn(function* () { yield* go.wait(); });
    const b = group.spawn(function* (n: number) { yield* forever(); return n; }, 1);
    expect(group.size).toBe(2);
    expect([group.has(a), group.has(b)]).toEqual([true, true]);
    expect([...group]).toEqual([a, b]);
    await sleep(0);
    go.set();
    expect([group.size, group.has(a), group.has(b)]).toEqual([1, false, true]);
    b.kill();
    expect(group.size).toBe(0);
  });

  it('join waits for every member, including one added while it waits', async () => {
    const group = new Group();
    const log: string[] = [];
    group.spawn(function* () {
      yield* sleep(0);
      group.spawn(function* () { yield* sleep(1); log.push('late member done'); });
      log.push('first member done');
    });
    expect(await group.join()).toBe(true);
    expect(log).toEqual(['first member done', 'late member done']);
    expect(group.size).toBe(0);
  });

  it('join of an empty group resolves to true at once', async () => {
    expect(await new Group().join()).toBe(true);
  });

  it('join with a timeout resolves to false while a member still runs', async () => {
    const group = new Group();
    const task = group.spawn(function* () { yield* forever(); });
    expect(await group.join(5)).toBe(false);
    expect(group.has(task)).toBe(true);
    group.kill();
  });

  it('join never throws when members fail', async () => {
    const group = new Group();
    const task = group.spawn(function* () { yield* sleep(0); throw new Error('member failed'); });
    expect(await group.join()).toBe(true);
    expect(task.successful()).toBe(false);
  });

  it('kill ends every member and runs their finally blocks', async () => {
    const group = new Group();
    const cleaned: number[] = [];
    for (const n of [1, 2, 3]) group.spawn(function* () { try { yield* forever(); } finally { cleaned.push(n); } });
    await sleep(0);
    group.kill();
    expect(cleaned).toEqual([1, 2, 3]);
    expect(group.size).toBe(0);
    expect(await group.join(5)).toBe(true);
  });

  it('adds tasks spawned elsewhere, and discards them without killing them', async () => {
    const group = new Group();
    const go = new Event();
    const task = spawn(function* () { yield* go.wait(); return 'finished'; });
    group.add(task);
    group.add(task);
    expect(group.size).toBe(1);
    group.discard(task);
    expect([group.size, group.has(task)]).toEqual([0, false]);
    expect(await group.join(5)).toBe(true);
    go.set();
    expect(await task.get()).toBe('finished');
  });

  it('lets a task that has already ended leave again at once', async () => {
    const group = new Group();
    const task = spawn(function* () { return 1; });
    await task.join();
    group.add(task);
    expect(group.size).toBe(0);
    expect(await group.join(5)).toBe(true);
  });
});
