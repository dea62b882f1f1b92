/**
 * Waits until `condition()` holds, checking after each turn of the event loop (and at least
 * every 10 ms), so tests wait for the event they need instead of sleeping a guessed time. A
 * slow machine makes the test slower, never red; only a condition that never comes fails,
 * after `timeoutMs`, naming what it waited for. The condition may be async (a scrape, say).
 *
 * @example
 *   await eventually(() => stats.reads === 1, 'the chunk to arrive');
 */
export async function eventually(condition: () => boolean | Promise<boolean>, what = 'the condition', timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
