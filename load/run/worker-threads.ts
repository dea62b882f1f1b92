import { Worker } from 'node:worker_threads';
import type { IntervalCounts } from '../result/intervals.js';
import type { WorkerResult } from '../result/result.js';
import { LoadError } from './load-error.js';
import type { MainMessage, WorkerConfig, WorkerMessage } from './messages.js';
import { Waiter } from './waiter.js';

/** Waiting for workers to answer `stop`, and then to end, is bounded. */
const RESULT_DEADLINE_MS = 5000;
const EXIT_DEADLINE_MS = 3000;

/**
 * The run's worker threads as the main thread sees them: started one per config (each runs
 * load/worker/worker.ts), counted as they say `up`, `ready`, `done` and `result`, and waited for
 * with `until`, which re-checks its condition whenever a thread says something.
 *
 * @example
 *   const threads = new WorkerThreads(configs, (interval) => collector.add(interval));
 *   await threads.until(() => threads.ready === threads.count);
 *   await threads.stop();
 *   await threads.terminate();
 *   const reports = threads.reports();
 */
export class WorkerThreads {
  readonly count: number;
  /** Workers whose thread is up, waiting for `start`. */
  up = 0;
  /** Workers whose connections are all established or failed. */
  ready = 0;
  /** Workers with nothing left to do. */
  done = 0;
  /** The first thread that failed, which ends the run. */
  failure: LoadError | undefined;
  private exited = 0;
  private stopAsked = false;
  private readonly results: WorkerResult[] = [];
  /** A worker that reports and then exits must count once: per id, not per event. */
  private readonly finished = new Set<number>();
  private readonly waiter = new Waiter();
  private readonly threads: Worker[];

  /** `onInterval` is given each interval a thread reports, as it comes. */
  constructor(
    configs: readonly WorkerConfig[],
    private readonly onInterval: (interval: IntervalCounts) => void,
  ) {
    this.count = configs.length;
    this.threads = configs.map((config) => this.start(config));
  }

  /** Resolves when `condition()` holds (checked whenever a thread says something, or on `notify`), or after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs?: number): Promise<void> {
    return this.waiter.until(condition, timeoutMs);
  }

  /** Re-checks what is waited for, after a change the threads do not see (an abort). */
  notify(): void {
    this.waiter.notify();
  }

  post(message: MainMessage): void {
    for (const thread of this.threads) thread.postMessage(message);
  }

  /** Asks every worker to stop and report, and waits (bounded) for the reports and the threads' ends. */
  async stop(): Promise<void> {
    this.stopAsked = true;
    this.post({ type: 'stop' });
    await this.until(() => this.finished.size === this.count || this.failure !== undefined, RESULT_DEADLINE_MS);
    await this.until(() => this.exited === this.count, EXIT_DEADLINE_MS);
  }

  /** Ends every thread, whatever it is doing. */
  async terminate(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }

  /** Every worker's report; a `LoadError` if a thread failed or did not report. */
  reports(): WorkerResult[] {
    if (this.failure !== undefined) throw this.failure;
    const missing = this.count - this.results.length;
    if (missing > 0) throw new LoadError('EWORKER', `${missing} worker(s) did not report`);
    return this.results;
  }

  private start(config: WorkerConfig): Worker {
    const worker = config.worker;
    const thread = new Worker(new URL('../worker/worker.js', import.meta.url), { workerData: config });
    thread.on('message', (message: WorkerMessage) => {
      if (message.type === 'interval') {
        // Not a change of phase: nothing waits on it.
        this.onInterval(message.interval);
        return;
      }
      if (message.type === 'result') {
        this.results.push(message);
        this.finished.add(worker);
      } else if (message.type === 'up') {
        this.up++;
      } else if (message.type === 'ready') {
        this.ready++;
      } else {
        this.done++;
      }
      this.waiter.notify();
    });
    thread.on('error', (error: Error) => {
      this.failure ??= new LoadError('EWORKER', `worker ${worker} failed: ${error.message}`);
      this.waiter.notify();
    });
    thread.on('exit', () => {
      // A worker's thread stays up until it is asked to stop (its port listens): an end before
      // that is a failure, or the run would wait for it forever.
      if (!this.stopAsked) this.failure ??= new LoadError('EWORKER', `worker ${worker} ended before the run did`);
      this.exited++;
      this.finished.add(worker);
      this.waiter.notify();
    });
    return thread;
  }
}
