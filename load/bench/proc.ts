/**
 * What the client benchmark reads about its processes from Linux's /proc, and how it pins
 * them to a core (taskset, when the machine has it).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether `taskset` works here; without it the benchmark runs unpinned and says so. */
export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/**
 * The command and arguments that run `node args` on `core` (unpinned if `core` is undefined
 * or there is no taskset). taskset exec()s node, so the child's pid is node's.
 *
 * @example
 *   const [command, argv] = pinned(1, ['server.js', '0']); spawn(command, argv);
 */
export function pinned(core: number | undefined, args: readonly string[]): readonly [string, readonly string[]] {
  return core !== undefined && hasTaskset ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args];
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

/**
 * Bytes a process has written so far with write()/writev(), sockets included (`wchar` in
 * /proc/PID/io). For the bare echo server this is exactly the bytes it echoed: a message
 * count that costs neither the server nor the clients anything.
 */
export function bytesWritten(pid: number): number {
  const match = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (match === null) throw new Error(`no wchar in /proc/${pid}/io`);
  return Number(match[1]);
}
