export { suspend, Suspension, type Operation, type Park, type Resume, type Fail, type SwitchPoint, type Waker, type Yielded } from './operation.js';
export { ReusableOperation, NOT_READY, DONE } from './reusable-operation.js';
export { Task, type AnyTask, taskStats, currentTask, setFailureReporter, type FailureReporter } from './task.js';
export { spawn, run } from './spawn.js';
export { sleep } from './sleep.js';
export { TimeoutError, QueueFull, QueueEmpty, PoolFull, NotInTaskError } from './errors.js';
export { timeout, withTimeout } from './timeout.js';
export { Event } from './event.js';
export { joinAll, killAll } from './join-all.js';
export { spawnLater } from './spawn-later.js';
export { Group } from './group.js';
export { Pool } from './pool.js';
export { Queue } from './queue.js';
export { Mailbox, type MailboxHooks } from './mailbox.js';
export {
  startBlockedLoopMonitor,
  monitorStats,
  MonitorError,
  BLOCKED_LOOP_CAUSES,
  type BlockedLoopCause,
  type BlockedLoopEvent,
  type BlockedLoopMonitor,
} from './monitor.js';
