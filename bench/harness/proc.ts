/**
 * What the benchmarks read from Linux's /proc: a process's CPU time and written bytes, and the
 * kernel's listen-queue counters.
 */
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far, all threads; with `tid`, that one thread's. */
export function cpuSeconds(pid: number, tid?: number): number {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

/**
 * Bytes a process has written so far with write()/writev(), sockets included (`wchar` in
 * /proc/PID/io). For the bare echo server this is exactly the bytes it echoed: a message
 * count that costs neither the server nor the clients anything.
 */
export function bytesWritten(pid: number): number {
  return writes(`/proc/${pid}/io`).bytes;
}

/**
 * Bytes and write calls of one thread (`wchar` and `syscw` in /proc/PID/task/TID/io); the
 * main thread's tid is the pid. For a server with a second thread (echo-server's HTTP thread
 * for /metrics) the main thread's writes are the echoes, without the HTTP responses.
 */
export function threadWrites(pid: number, tid = pid): { bytes: number; calls: number } {
  return writes(`/proc/${pid}/task/${tid}/io`);
}

function writes(path: string): { bytes: number; calls: number } {
  const text = readFileSync(path, 'utf8');
  const bytes = /^wchar: (\d+)$/m.exec(text);
  const calls = /^syscw: (\d+)$/m.exec(text);
  if (bytes === null || calls === null) throw new Error(`no wchar/syscw in ${path}`);
  return { bytes: Number(bytes[1]), calls: Number(calls[1]) };
}

/**
 * The kernel's listen-queue counters so far, machine-wide (what `nstat -az
 * TcpExtListenOverflows TcpExtListenDrops` shows): connections that found an accept queue full,
 * and SYNs dropped at a listening socket for any reason (overflows included).
 */
export function listenQueueCounters(): { overflows: number; drops: number } {
  // /proc/net/netstat: a header line of names and a line of values per group.
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const at = lines.findIndex((line) => line.startsWith('TcpExt:'));
  const names = lines[at]!.split(' ');
  const values = lines[at + 1]!.split(' ');
  const value = (name: string) => Number(values[names.indexOf(name)]);
  return { overflows: value('ListenOverflows'), drops: value('ListenDrops') };
}
