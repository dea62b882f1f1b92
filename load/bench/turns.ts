/**
 * Two clients compared in short alternating turns against one server, for the client
 * benchmark. Both are started and connected; only the one whose turn it is runs, the other is
 * frozen with SIGSTOP (its connections stay open and quiet).
 *
 * Why turns and not one whole run after the other: on this kind of machine (a VM on a shared
 * host) the whole echo loop slows down by up to 1.5x for seconds to tens of seconds at a time,
 * while a pure-CPU loop on the same cores does not. Two runs a few seconds apart then differ by
 * -13% to +19% with the same client on both sides; half-second turns in the order A B B A
 * put both clients in the same slow and fast stretches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { bytesWritten, cpuSeconds, pinned } from './proc.js';

/**
 * A client process that takes turns. Frozen, it uses no CPU and sends nothing; thawed, it
 * carries on where it stopped.
 *
 * @example
 *   const minimal = new Contender('minimal', 0, ['minimal-client.js', ...]);
 *   minimal.freeze();
 */
export class Contender {
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly closed: Promise<number | null>;
  private output = '';
  private exited = false;

  constructor(
    readonly name: string,
    core: number | undefined,
    args: readonly string[],
  ) {
    const [command, argv] = pinned(core, args);
    this.child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.pid = this.child.pid!;
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => (this.output += text));
    this.closed = new Promise((resolve) =>
      this.child.on('close', (code) => {
        this.exited = true;
        resolve(code);
      }),
    );
  }

  freeze(): void {
    this.signal('SIGSTOP');
  }

  thaw(): void {
    this.signal('SIGCONT');
  }

  /** Thaws the process (a frozen one would not see the signal) and ends it; resolves with its exit code and output. */
  async end(signal: NodeJS.Signals): Promise<{ code: number | null; output: string }> {
    this.thaw();
    this.signal(signal);
    const code = await this.closed;
    return { code, output: this.output };
  }

  /** Throws if the process has ended before its time. */
  check(): void {
    if (this.exited) throw new Error(`${this.name} exited early: ${this.output}`);
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.exited) process.kill(this.pid, signal);
  }
}

/** What one contender achieved over its turns: totals, so that rates are totals over time. */
export interface Turns {
  /** Messages the server echoed during the measured part of the turns. */
  messages: number;
  seconds: number;
  /** CPU seconds used meanwhile by the client and by the server. */
  clientCpu: number;
  serverCpu: number;
}

export interface TurnPlan {
  /** Turns each contender gets. */
  turns: number;
  /** Measured time of one turn. */
  turnMs: number;
  /** Unmeasured start of each turn: the server finishes the other client's last echoes, the backlog of this one's is answered. */
  settleMs: number;
  /** Bytes per message: the server's written bytes / size = messages. */
  size: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Gives each of two frozen contenders `turns` turns, in the order A B B A A B B A ..., so that
 * a steady drift favours neither, and leaves both frozen. The server's echoed bytes count the
 * messages: the active client's are the only ones in flight.
 */
export async function takeTurns(serverPid: number, contenders: readonly [Contender, Contender], plan: TurnPlan): Promise<[Turns, Turns]> {
  const totals: [Turns, Turns] = [
    { messages: 0, seconds: 0, clientCpu: 0, serverCpu: 0 },
    { messages: 0, seconds: 0, clientCpu: 0, serverCpu: 0 },
  ];
  let active: Contender | undefined;
  try {
    for (let turn = 0; turn < 2 * plan.turns; turn++) {
      const who = (((turn + 1) >> 1) & 1) as 0 | 1;
      const next = contenders[who];
      next.check();
      if (next !== active) {
        active?.freeze();
        next.thaw();
        active = next;
      }
      await sleep(plan.settleMs);
      const from = { at: performance.now(), bytes: bytesWritten(serverPid), client: cpuSeconds(next.pid), server: cpuSeconds(serverPid) };
      await sleep(plan.turnMs);
      const total = totals[who];
      total.seconds += (performance.now() - from.at) / 1000;
      total.messages += (bytesWritten(serverPid) - from.bytes) / plan.size;
      total.clientCpu += cpuSeconds(next.pid) - from.client;
      total.serverCpu += cpuSeconds(serverPid) - from.server;
    }
  } finally {
    active?.freeze();
  }
  return totals;
}
