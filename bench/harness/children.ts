/**
 * The processes a benchmark starts: launched with room for many descriptors and pinned to a
 * core where `taskset` exists, read line by line, frozen and thawed for turns, and always
 * ended (SIGTERM, then SIGKILL after a grace period; whatever is still alive when the
 * benchmark exits is killed). The benchmarks' C programs are compiled here too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { THIS_CHECKOUT } from './checkout.js';

/**
 * A built program of the benchmarks, by its path under dist/bench/ (where they run).
 *
 * @example
 *   built('loads/idle-client.js')
 */
export const built = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
export const BARE_SERVER = built('contenders/bare-server.js');

/** Whether `taskset` works here; without it the benchmarks run unpinned and say so. */
export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** Where and how a child runs. */
export interface LaunchOptions {
  /** The core to pin it to (all its threads); unpinned when undefined or without taskset. */
  core?: number | undefined;
  /** A pipe to its stdin (for children that take commands), instead of nothing. */
  stdin?: boolean;
  /** Variables added to the benchmark's own environment. */
  env?: Record<string, string>;
}

const live = new Set<Child>();

/**
 * A running child process. Its stdout is read line by line from the start (a child that
 * logs into a full pipe would block) and kept; stderr goes to the benchmark's.
 *
 * @example
 *   const server = new Child([process.execPath, BARE_SERVER, '0'], { core: 0 });
 *   const port = await server.line((l) => /^listening (\d+)$/.exec(l)?.[1]);
 *   await server.stop();
 */
export class Child {
  readonly pid: number;
  /** Resolves with the exit code (null after a signal) once the process has ended. */
  readonly exited: Promise<number | null>;
  private readonly process: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiting = new Set<(line: string) => void>();
  private ended = false;
  /** How it ended: `code 1`, `signal SIGKILL`; undefined while it runs. */
  private ending: string | undefined;

  constructor(
    argv: readonly string[],
    options: LaunchOptions = {},
    /** For error messages. */
    readonly name = argv.map((a) => a.split('/').at(-1)).join(' '),
  ) {
    const pin = options.core !== undefined && hasTaskset ? ['taskset', '-c', String(options.core)] : [];
    // The soft descriptor limit up to the hard one (Node.js does that itself, a C program does
    // not); `exec`, and taskset's own exec, keep the pid: it is the program's. SIGHUP ignored
    // (an ignored signal stays ignored across exec; echo-server installs its own handler):
    // when the benchmark runs in a process group whose parent has gone (started as
    // `(npm run bench &)`), the kernel sends SIGHUP to the whole group each time a member exits
    // while another is stopped, as frozen contenders are, and the C client and the bare
    // server would die of it.
    const line = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; trap "" HUP; exec "$@"';
    this.process = spawn('bash', ['-c', line, 'bash', ...pin, ...argv], {
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...options.env },
    });
    this.pid = this.process.pid!;
    live.add(this);
    createInterface({ input: this.process.stdout! }).on('line', (text) => {
      this.lines.push(text);
      for (const waiter of this.waiting) waiter(text);
    });
    this.exited = new Promise((resolve) =>
      this.process.on('close', (code, signal) => {
        this.ended = true;
        this.ending = signal === null ? `code ${code}` : `signal ${signal}`;
        live.delete(this);
        resolve(code);
      }),
    );
  }

  /** Everything it printed on stdout so far. */
  get output(): string {
    return this.lines.join('\n');
  }

  get running(): boolean {
    return !this.ended;
  }

  /**
   * Resolves with what `match` returns for the first line (from now on) it accepts; rejects
   * if the child exits first or nothing comes within `timeoutMs`.
   */
  line<T>(match: (line: string) => T | undefined, timeoutMs = 20_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.waiting.delete(onLine);
        if (error) reject(error);
      };
      const onLine = (text: string) => {
        const value = match(text);
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => done(new Error(`${this.name}: no answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.add(onLine);
      void this.exited.then((code) => done(new Error(`${this.name} exited with ${code}: ${this.output}`)));
    });
  }

  /** Writes one line to its stdin (launched with `stdin: true`). */
  send(text: string): void {
    this.process.stdin!.write(`${text}\n`);
  }

  /** Frozen, it uses no CPU and sends nothing; its connections stay open and quiet. */
  freeze(): void {
    this.signal('SIGSTOP');
  }

  /** Thawed, it carries on where it stopped. */
  thaw(): void {
    this.signal('SIGCONT');
  }

  /** Throws if the process has ended before its time. */
  check(): void {
    if (this.ended) throw new Error(`${this.name} (pid ${this.pid}) exited early with ${this.ending}: ${this.output}`);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.ended) process.kill(this.pid, signal);
  }

  /**
   * Ends it: thaws it (a frozen process would not act on the signal), sends `signal`, and
   * SIGKILL if it has not exited after `graceMs`. Resolves with its exit code and output.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<{ code: number | null; output: string }> {
    this.thaw();
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return { code, output: this.output };
  }
}

/** Ends every child still running; for the benchmark's own way out. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop('SIGTERM', 2000)));
}

// A benchmark that fails or is interrupted leaves no server or client behind.
process.on('exit', () => {
  for (const child of live) child.signal('SIGKILL');
});

/**
 * Compiles `bench/PATH.c` with `cc -O2` into `.bench/NAME` (the file's name) and returns the
 * binary's path, or undefined when there is no C compiler (or the build fails).
 *
 * @example
 *   const client = compileC('loads/ping-client') ?? 'node ping-client.js';
 */
export function compileC(path: string): string | undefined {
  const source = join(THIS_CHECKOUT.root, 'bench', `${path}.c`);
  const directory = join(THIS_CHECKOUT.root, '.bench');
  mkdirSync(directory, { recursive: true });
  const binary = join(directory, path.split('/').at(-1)!);
  return spawnSync('cc', ['-O2', '-o', binary, source], { stdio: 'inherit' }).status === 0 ? binary : undefined;
}

/**
 * The ping-pong load of the server benchmarks: the C client (compiled here) when a C compiler
 * exists, since a Node.js client costs about as much per message as the server and would
 * saturate its core first; otherwise the Node.js client, and throughput ratios then say
 * little (CPU per message still does). Arguments: PORT CLIENTS SIZE WARMUP_MS DURATION_MS.
 */
export function pingClient(): { command: string[]; kind: 'C' | 'Node.js' } {
  const binary = compileC('loads/ping-client');
  return binary !== undefined ? { command: [binary], kind: 'C' } : { command: [process.execPath, built('loads/ping-client.js')], kind: 'Node.js' };
}

/** A server that listens: its process, its port, and its metrics port if it has one. */
export interface RunningServer {
  child: Child;
  port: number;
  metricsPort: number | undefined;
}

/**
 * Starts a server and resolves once it listens: at its first line `listening PORT` (the bare
 * and C servers) or echo-server's JSON `listening` log line (with `metricsPort`).
 *
 * @example
 *   const { port } = await startServer([process.execPath, BARE_SERVER, '0'], { core: 0 });
 */
export async function startServer(argv: readonly string[], options: LaunchOptions = {}): Promise<RunningServer> {
  const child = new Child(argv, options);
  try {
    return await child.line((line): RunningServer | undefined => {
      const bare = /^listening (\d+)$/.exec(line);
      if (bare) return { child, port: Number(bare[1]), metricsPort: undefined };
      if (!line.includes('"msg":"listening"')) return undefined;
      const entry = JSON.parse(line) as { port: number; metricsPort?: number | null };
      return { child, port: entry.port, metricsPort: entry.metricsPort ?? undefined };
    });
  } catch (error) {
    await child.stop();
    throw error;
  }
}
