import { describe, expect, it } from 'vitest';
import { Step, schedule, wake, type Steppable } from '../../src/tasks/hub.js';

/** A steppable that records each step it is given and can run more code inside its step. */
function steppable(name: string, log: string[], during?: () => void): Steppable {
  return {
    step(step, arg) {
      log.push(`${name}:${step}:${String(arg)}`);
      during?.();
    },
  };
}

const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('the hub', () => {
  it('runs a wake-up from outside any step at once, before wake returns', () => {
    const log: string[] = [];
    wake(steppable('a', log), Step.Next, 1);
    expect(log).toEqual(['a:0:1']);
  });

  it('queues a wake-up made during a step and runs it right after that step, in order', () => {
    const log: string[] = [];
    const b = steppable('b', log);
    const c = steppable('c', log);
    const a = steppable('a', log, () => {
      wake(b, Step.Throw, 'x');
      wake(c, Step.Return, undefined);
      log.push('a ends');
    });
    wake(a, Step.Next, undefined);
    // b and c did not run inside a's step (steps never nest), but before wake returned.
    expect(log).toEqual(['a:0:undefined', 'a ends', 'b:1:x', 'c:2:undefined']);
  });

  it('runs what a queued step queues after everything queued before it (first in, first out)', () => {
    const log: string[] = [];
    const d = steppable('d', log);
    const b = steppable('b', log, () => wake(d, Step.Next, undefined));
    const c = steppable('c', log);
    const a = steppable('a', log, () => {
      wake(b, Step.Next, undefined);
      wake(c, Step.Next, undefined);
    });
    wake(a, Step.Next, undefined);
    expect(log.map((entry) => entry[0])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never runs a scheduled start at once, even from outside: it runs in a microtask, in order', async () => {
    const log: string[] = [];
    schedule(steppable('a', log), Step.Next, undefined);
    schedule(steppable('b', log), Step.Next, undefined);
    expect(log).toEqual([]);
    await microtask();
    expect(log.map((entry) => entry[0])).toEqual(['a', 'b']);
  });

  it('runs a start scheduled during a step after that step, without waiting for a microtask', () => {
    const log: string[] = [];
    const a = steppable('a', log, () => schedule(steppable('b', log), Step.Next, undefined));
    wake(a, Step.Next, undefined);
    expect(log.map((entry) => entry[0])).toEqual(['a', 'b']);
  });

  it('still runs the rest of the queue when a step throws', async () => {
    const log: string[] = [];
    const c = steppable('c', log);
    const b: Steppable = {
      step() {
        log.push('b throws');
        throw new Error('broken step');
      },
    };
    const a = steppable('a', log, () => {
      wake(b, Step.Next, undefined);
      wake(c, Step.Next, undefined);
    });
    expect(() => wake(a, Step.Next, undefined)).toThrow('broken step');
    await microtask();
    expect(log).toEqual(['a:0:undefined', 'b throws', 'c:0:undefined']);
  });
});
