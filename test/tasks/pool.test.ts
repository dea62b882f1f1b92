import { beforeEach, describe, expect, it } from 'vitest';
import { Event, Pool, PoolFull, sleep, spawn, type Task } from '../../src/tasks/index.js';
import { eventually } from '../support/eventually.js';
import { collectFailures, forever } from './fixtures/helpers.js';

beforeEach(() => {
  collectFailures();
});

/** A member that runs until its Event is set. */
function* member(done: Event) {
  yield* done.wait();
}

describe('Pool', () => {
  it('starts tasks at once while slots are free, and reports how many are left', async () => {
    const pool = new Pool(2);
    const done = new Event();
    expect([pool.full(), pool.freeCount()]).toEqual([false, 2]);
    const a = await pool.spawn(member, done);
    expect([pool.size, pool.full(), pool.freeCount(), pool.has(a)]).toEqual([1, false, 1, true]);
    await pool.spawn(member, done);
    expect([pool.size, pool.full(), pool.freeCount()]).toEqual([2, true, 0]);
    done.set();
    expect([pool.size, pool.full(), pool.freeCount()]).toEqual([0, false, 2]);
  });

  it('makes the n+1th spawn wait until a member ends', async () => {
    const pool = new Pool(2);
    const ends = [new Event(), new Event()];
    for (const end of ends) await pool.spawn(member, end);
    let third: Task<void> | undefined;
    const spawner = spawn(function* () { third = yield* pool.spawn(member, new Event()); });
    await sleep(0);
    await sleep(0);
    expect(third).toBeUndefined();
    expect(pool.size).toBe(2);
    ends[0]!.set();
    await spawner.join();
    expect(third && pool.has(third)).toBe(true);
    expect(pool.size).toBe(2);
    pool.kill();
  });

  it('gives freed slots to waiting spawns in the order they asked', async () => {
    const pool = new Pool(1);
    const started: string[] = [];
    const first = new Event();
    await pool.spawn(member, first);
    const waiters = ['a', 'b', 'c'].map((name) =>
      spawn(function* () {
        yield* pool.spawn(function* () { started.push(name); yield* sleep(0); });
      }),
    );
    await sleep(0);
    expect(started).toEqual([]);
    first.set();
    for (const waiter of waiters) await waiter.join();
    await pool.join();
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('never runs more than its capacity at once', async () => {
    const pool = new Pool(3);
    let running = 0;
    let most = 0;
    function* work() {
      running++;
      most = Math.max(most, running);
      yield* sleep(0);
      yield* sleep(0);
      running--;
    }
    const feeder = spawn(function* () { for (let i = 0; i < 20; i++) yield* pool.spawn(work); });
    await feeder.join();
    await pool.join();
    expect([most, running, pool.size]).toEqual([3, 0, 0]);
  });

  it('does not leak the slot of a spawn that was killed while it waited', async () => {
    const pool = new Pool(1);
    const first = new Event();
    await pool.spawn(member, first);
    let ran = false;
    const waiter = spawn(function* () { yield* pool.spawn(function* () { ran = true; }); });
    await sleep(0);
    waiter.kill();
    first.set();
    expect([pool.size, pool.freeCount()]).toEqual([0, 1]);
    const next = await pool.spawn(member, new Event());
    expect(pool.has(next)).toBe(true);
    await sleep(0);
    expect(ran).toBe(false);
    pool.kill();
  });

  it('waitAvailable resolves once a slot frees, or to false when its time runs out', async () => {
    const pool = new Pool(1);
    expect(await pool.waitAvailable()).toBe(true);
    const done = new Event();
    await pool.spawn(member, done);
    expect(await pool.waitAvailable(5)).toBe(false);
    const waiter = spawn(function* () { return yield* pool.waitAvailable(); });
    await sleep(0);
    done.set();
    expect(await waiter.get()).toBe(true);
  });

  it('add takes tasks spawned elsewhere, and throws PoolFull (EPOOLFULL) when full', async () => {
    const pool = new Pool(1);
    const outsider = spawn(member, new Event());
    pool.add(outsider);
    expect(pool.full()).toBe(true);
    const another = spawn(member, new Event());
    expect(() => pool.add(another)).toThrow(PoolFull);
    try { pool.add(another); } catch (error) { expect((error as PoolFull).code).toBe('EPOOLFULL'); }
    pool.discard(outsider);
    expect([pool.size, outsider.dead]).toEqual([0, false]);
    outsider.kill();
    another.kill();
  });

  it('gives the slot of a discarded task to the next waiting spawn', async () => {
    const pool = new Pool(1);
    const first = await pool.spawn(member, new Event());
    const waiter = spawn(function* () { return yield* pool.spawn(member, new Event()); });
    await sleep(0);
    pool.discard(first);
    await eventually(() => waiter.dead, 'the waiting spawn to get its slot');
    expect(pool.has(waiter.value!)).toBe(true);
    first.kill();
    pool.kill();
  });

  it('kill ends every member; join then resolves', async () => {
    const pool = new Pool(2);
    const cleaned: number[] = [];
    for (const n of [1, 2]) await pool.spawn(function* () { try { yield* forever(); } finally { cleaned.push(n); } });
    await sleep(0);
    pool.kill();
    expect(cleaned).toEqual([1, 2]);
    expect(await pool.join(5)).toBe(true);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new Pool(0)).toThrow(RangeError);
    expect(() => new Pool(1.5)).toThrow(RangeError);
  });
});
