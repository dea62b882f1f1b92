export { suspend, Suspension, type Operation, type Park, type Resume, type Fail } from './operation.js';
export { Task, type AnyTask, taskStats, currentTask, runningTaskId, setFailureReporter, type FailureReporter } from './task.js';
export { spawn, run } from './spawn.js';
export { sleep } from './sleep.js';
export { TimeoutError, QueueFull, QueueEmpty, PoolFull, NotInTaskError } from './errors.js';
export { timeout, withTimeout } from './timeout.js';
export { Event } from './event.js';
export { joinAll, killAll } from './join-all.js';
export { spawnLater } from './spawn-later.js';
