import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';

/**
 * Debian's real `prometheus` binary, started for one test on loopback with its own config and
 * storage in a temporary directory; never a pre-running service.
 */
export interface Prometheus {
  base: string;
  /** Runs an instant PromQL query; returns each series' labels and value. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Polls `promql` every 500 ms until `accept` likes the result; throws after `limitMs` (60 s). */
  waitFor(promql: string, accept: (values: number[]) => boolean, limitMs?: number): Promise<number[]>;
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts prometheus scraping `target` (`127.0.0.1:port`, job `echo-server`) every second, or
 * with a whole configuration of the test's own (`{ config: yaml }`); resolves once ready.
 */
export async function startPrometheus(target: string | { config: string }, limitMs = 60_000): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'echo-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    typeof target !== 'string'
      ? target.config
      : [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          '  evaluation_interval: 1s',
          'scrape_configs:',
          '  - job_name: echo-server',
          '    static_configs:',
          `      - targets: ["${target}"]`,
          '',
        ].join('\n'),
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const stop = async () => {
    if (!gone) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const query = async (promql: string) => {
    const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  const waitFor = async (promql: string, accept: (values: number[]) => boolean, waitMs = 60_000) => {
    let last: number[] = [];
    const accepted = async () => accept((last = (await query(promql)).map((r) => r.value)));
    await eventually(accepted, promql, waitMs, 500).catch((error: Error) => {
      throw new Error(`${promql} still ${JSON.stringify(last)}: ${error.message}`);
    });
    return last;
  };

  const ready = async () => {
    if (gone) throw new Error('prometheus exited at start-up');
    return fetch(`${base}/-/ready`).then((r) => r.status === 200, () => false);
  };
  await eventually(ready, 'prometheus to be ready', limitMs, 200).catch(async (error: Error) => {
    await stop();
    throw new Error(`${error.message}: ${output}`);
  });
  return { base, query, waitFor, output: () => output, stop };
}
