import { afterEach, describe, expect, it } from 'vitest';
import { sleep, spawn } from '../../src/tasks/index.js';
import {
  monitorStats,
  startBlockedLoopMonitor,
  type BlockedLoopEvent,
  type BlockedLoopMonitor,
} from '../../src/tasks/monitor.js';

/** What the lesson warns against: compute without ever switching. */
function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

/** Polls `condition` every 10 ms, for at most `limitMs`. */
async function waitFor(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let monitor: BlockedLoopMonitor | undefined;
afterEach(async () => {
  await monitor?.stop();
  monitor = undefined;
});

function start(maxBlockingMs: number): BlockedLoopEvent[] {
  const events: BlockedLoopEvent[] = [];
  monitor = startBlockedLoopMonitor({ maxBlockingMs, onBlocked: (event) => events.push(event) });
  return events;
}

/** Waits until the watchdog thread runs. */
const settle = () => monitor!.ready;

describe('blocked-loop monitor', () => {
  it('names the task that blocked the loop, and for how long', async () => {
    const events = start(50);
    await settle();
    const task = spawn(function* () {
      yield* sleep(0);
      blockFor(300);
      yield* sleep(0);
    });
    task.name = 'conn';
    task.about = { toString: () => '127.0.0.1:5555' };
    await task.join();
    await waitFor(() => events.length >= 1);
    await sleep(100);
    // Once for this task (a loaded machine may add stalls of its own, never named after it).
    const mine = events.filter((e) => e.taskId === task.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.taskName).toBe('conn 127.0.0.1:5555');
    // The two beats around the block are at least 300 ms apart; one tick (12 ms) is subtracted.
    expect(mine[0]!.blockedMs).toBeGreaterThanOrEqual(300 - 12);
  });

  it('names a task that ended in the very step that blocked', async () => {
    const events = start(50);
    await settle();
    const task = spawn(function* quickButGreedy() {
      blockFor(250);
    });
    await task.join();
    await waitFor(() => events.some((e) => e.taskId === task.id));
    expect(events.find((e) => e.taskId === task.id)!.taskName).toBe('quickButGreedy');
  });

  it('reports task 0 when code outside any task blocks', async () => {
    const events = start(50);
    await settle();
    blockFor(250);
    await waitFor(() => events.length >= 1);
    expect(events[0]!.taskId).toBe(0);
    expect(events[0]!.taskName).toBeUndefined();
  });

  it('counts each blocked stretch exactly once', async () => {
    const events = start(50);
    await settle();
    const before = monitorStats.blockedLoopEvents;
    for (let i = 1; i <= 3; i++) {
      blockFor(250);
      await waitFor(() => events.length >= i);
    }
    await sleep(200);
    // Each 250 ms stretch once; stalls a loaded machine adds are far shorter.
    expect(events.filter((e) => e.blockedMs >= 200)).toHaveLength(3);
    expect(monitorStats.blockedLoopEvents - before).toBe(events.length);
  });

  it('stays silent while tasks switch often', async () => {
    const events = start(2000);
    await settle();
    const workers = Array.from({ length: 50 }, () =>
      spawn(function* () {
        for (let i = 0; i < 100; i++) yield* sleep(0);
      }),
    );
    for (const worker of workers) await worker.join();
    await sleep(100);
    expect(events).toEqual([]);
  });

  it('refuses a second detector while one runs, and starts again after stop', async () => {
    start(100);
    expect(() => startBlockedLoopMonitor({ maxBlockingMs: 100, onBlocked: () => {} })).toThrow(
      expect.objectContaining({ code: 'EMONITOR' }),
    );
    await monitor!.stop();
    await monitor!.stop(); // idempotent
    start(100);
  });

  it('refuses a limit that is not positive', () => {
    expect(() => startBlockedLoopMonitor({ maxBlockingMs: 0, onBlocked: () => {} })).toThrow(
      expect.objectContaining({ code: 'EMONITOR' }),
    );
  });
});
