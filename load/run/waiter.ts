/**
 * Lets the runner wait for a condition over state that event handlers change ("all workers
 * ready", "stopped"): handlers call `notify()`, and each waiting condition is checked again.
 *
 * @example
 *   const waiter = new Waiter();
 *   thread.on('message', () => { ready++; waiter.notify(); });
 *   await waiter.until(() => ready === workers, 5000);
 */
export class Waiter {
  private readonly checks = new Set<() => void>();

  /** Re-checks every pending condition. */
  notify(): void {
    for (const check of [...this.checks]) check();
  }

  /** Resolves when `condition()` holds, or after `timeoutMs` (if given) whatever it says. */
  until(condition: () => boolean, timeoutMs?: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.checks.delete(check);
        resolve();
      };
      const check = () => {
        if (condition()) finish();
      };
      if (timeoutMs !== undefined) timer = setTimeout(finish, timeoutMs);
      this.checks.add(check);
    });
  }
}
