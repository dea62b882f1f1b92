/** Why the loop was held: the label values of `echo_blocked_loop_events_total{cause}`. */
export const BLOCKED_LOOP_CAUSES = ['task', 'outside', 'busy', 'unscheduled'] as const;

/** One of `BLOCKED_LOOP_CAUSES`. */
export type BlockedLoopCause = (typeof BLOCKED_LOOP_CAUSES)[number];

/**
 * What the blocked-loop detector (`monitor.ts`) reports, once per late beat.
 *
 * @example
 *   if (event.cause === 'task') log.warn(`${event.taskName} held the loop ${event.blockedMs} ms`);
 */
export type BlockedLoopEvent =
  /** One step of one task held the loop longer than the limit. */
  | { cause: 'task'; taskId: number; taskName: string; blockedMs: number }
  /** The loop was held that long while no task ran: code outside any task, a GC pause. */
  | { cause: 'outside'; blockedMs: number }
  /** Timers ran `lateMs` late, but no one step and no stretch outside tasks held it that long. */
  | { cause: 'busy'; lateMs: number }
  /**
   * Timers ran `lateMs` late because the process was not run: for all but at most the limit of
   * that time the kernel kept the main thread, or a thread it waited for, waiting for a CPU
   * (`waitedMs` in all) while it ran another process. `ranMs`: how long the main thread was on
   * a CPU from the beat before to this one; the two add up to the gap between the beats or less.
   */
  | { cause: 'unscheduled'; lateMs: number; ranMs: number; waitedMs: number };
