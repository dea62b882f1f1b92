import { beforeEach, describe, expect, it } from 'vitest';
import {
  Event, NotInTaskError, TimeoutError, run, sleep, spawn, timeout, withTimeout,
} from '../../src/tasks/index.js';
import { activeTimers, collectFailures, forever } from './fixtures/helpers.js';

beforeEach(() => {
  collectFailures();
});

describe('timeout', () => {
  it('throws a TimeoutError with code ETASKTIMEOUT when the operation outlasts its deadline', async () => {
    const error = await run(timeout(5, forever())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe('ETASKTIMEOUT');
    expect((error as TimeoutError).ms).toBe(5);
  });

  it("runs the operation's finally blocks when the deadline passes", async () => {
    const log: string[] = [];
    function* guarded() {
      try { yield* forever(); } finally { log.push('released'); }
    }
    await expect(run(timeout(5, guarded()))).rejects.toBeInstanceOf(TimeoutError);
    expect(log).toEqual(['released']);
  });

  it("returns the operation's value when it finishes in time, and disarms its timer", async () => {
    const go = new Event();
    const task = spawn(function* () { return yield* timeout(60_000, (function* () { yield* go.wait(); return 'in time'; })()); });
    await sleep(0);
    const armed = activeTimers();
    go.set(); // from outside any task: the task runs to its end right here
    expect(task.value).toBe('in time');
    expect(activeTimers()).toBe(armed - 1);
  });

  it('does not fire later once the operation is done', async () => {
    const task = spawn(function* () {
      yield* timeout(5, sleep(0));
      // Had the 5 ms timer survived, it would fire during this longer sleep (timers fire in
      // deadline order) and the task would fail with a TimeoutError.
      yield* sleep(30);
      return 'undisturbed';
    });
    expect(await task.get()).toBe('undisturbed');
  });

  it('disarms its timer when the operation fails', async () => {
    const task = spawn(function* () {
      const before = activeTimers();
      try {
        yield* timeout(60_000, (function* () { throw new Error('fails at once'); })());
      } catch (error) {
        return [(error as Error).message, activeTimers() - before];
      }
    });
    expect(await task.get()).toEqual(['fails at once', 0]);
  });

  it('disarms its timer when the task is killed', async () => {
    const task = spawn(function* () { yield* timeout(60_000, forever()); });
    await sleep(0);
    const armed = activeTimers();
    task.kill();
    expect(activeTimers()).toBe(armed - 1);
  });

  it('lets the inner of two nested deadlines fire without the outer one', async () => {
    const task = spawn(function* () {
      try {
        yield* timeout(60_000, timeout(5, forever()));
      } catch (error) {
        return (error as TimeoutError).ms;
      }
    });
    expect(await task.get()).toBe(5);
  });

  it('lets the outer of two nested deadlines fire through the inner one', async () => {
    const log: string[] = [];
    function* inner() {
      try { return yield* withTimeout(60_000, forever(), 'inner fallback'); } finally { log.push('inner cleanup'); }
    }
    const result = await run(withTimeout(5, inner(), 'outer fallback'));
    expect(result).toBe('outer fallback');
    expect(log).toEqual(['inner cleanup']);
  });

  it('treats an infinite deadline as none', async () => {
    const task = spawn(function* () {
      const before = activeTimers();
      yield* timeout(Infinity, sleep(0));
      return activeTimers() - before;
    });
    expect(await task.get()).toBe(0);
  });

  it('refuses to run outside a task', () => {
    const iterator = timeout(5, sleep(0))[Symbol.iterator]();
    expect(() => iterator.next()).toThrow(NotInTaskError);
  });
});

describe('withTimeout', () => {
  it('returns the fallback when the deadline passes', async () => {
    expect(await run(withTimeout(5, forever(), 'fallback'))).toBe('fallback');
  });

  it("returns the operation's value when it finishes in time", async () => {
    expect(await run(withTimeout(60_000, (function* () { yield* sleep(0); return 'value'; })(), 'fallback'))).toBe('value');
  });

  it("lets the operation's own errors through", async () => {
    const op = (function* () { yield* sleep(0); throw new Error('own'); })();
    await expect(run(withTimeout(60_000, op, 'fallback'))).rejects.toThrow('own');
  });
});
