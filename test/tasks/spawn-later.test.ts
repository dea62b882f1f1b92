import { describe, expect, it } from 'vitest';
import { sleep, spawn, spawnLater } from '../../src/tasks/index.js';
import { activeTimers } from './fixtures/helpers.js';

describe('spawnLater', () => {
  it('returns the handle at once and starts the task after the delay, with its arguments', async () => {
    const order: string[] = [];
    const later = spawnLater(5, function* greet(name: string, times: number) { order.push(`later ${name} x${times}`); return times; }, 'tom', 2);
    spawn(function* () { order.push('spawned now'); });
    expect(later.ready()).toBe(false);
    expect(later.name).toBe('greet');
    expect(await later.get()).toBe(2);
    expect(order).toEqual(['spawned now', 'later tom x2']);
  });

  it('has not started before the delay has passed', async () => {
    let ran = false;
    const later = spawnLater(60_000, function* () { ran = true; });
    await sleep(0);
    await sleep(1);
    expect(ran).toBe(false);
    later.kill();
  });

  it('killed before it starts, never runs and leaves no timer behind', async () => {
    let ran = false;
    const before = activeTimers();
    const later = spawnLater(10, function* () { ran = true; });
    expect(activeTimers()).toBe(before + 1);
    later.kill();
    expect(activeTimers()).toBe(before);
    expect([later.dead, later.successful(), later.killed]).toEqual([true, true, true]);
    await sleep(30);
    expect(ran).toBe(false);
  });
});
