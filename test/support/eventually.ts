/**
 * Waits until `condition()` holds, checking after each turn of the event loop (every
 * `intervalMs`, 1 ms by default), so tests wait for the event they need instead of sleeping a
 * guessed time. A slow machine makes the test slower, never red; only a condition that never
 * comes fails, after `timeoutMs`, naming what it waited for. The condition may be async (a
 * scrape, a query: give those a longer interval), and may throw to fail at once (a child that
 * exited, say).
 *
 * @example
 *   await eventually(() => stats.reads === 1, 'the chunk to arrive');
 *   await eventually(async () => (await scrape(base)).get('echo_connections_active') === 8, '8 clients', 60_000, 100);
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what = 'the condition',
  timeoutMs = 20_000,
  intervalMs = 1,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
