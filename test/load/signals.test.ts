import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../load/result.js';
import { LoadProcess } from './support/cli.js';
import { startServer } from '../support/server.js';

/** True once the debug log shows a measured second with traffic in it. */
function measuredTraffic(load: LoadProcess): boolean {
  return load.stderr.split('\n').some((line) => /"msg":"sample"/.test(line) && /"measuring":true/.test(line) && !/"messagesPerSecond":0[,}]/.test(line));
}

describe('echo-load and SIGINT', () => {
  it('stops on SIGINT, prints what was measured and exits 130', async () => {
    const { port } = await startServer();
    const load = new LoadProcess(['--port', String(port), '--clients', '20', '--duration', '60s', '--json', '--log-level', 'debug']);
    await load.waitFor(measuredTraffic);
    load.child.kill('SIGINT');
    const { code, stdout } = await load.finished;
    expect(code).toBe(130);
    const result = JSON.parse(stdout) as LoadResult;
    expect(result.interrupted).toBe(true);
    expect(result.requests.total).toBeGreaterThan(0);
    expect(result.duration).toBeGreaterThan(0);
    expect(result.duration).toBeLessThan(60);
    // Stopping is not a failure of the server: every connection was still held.
    expect(result.held).toBe(20);
    expect(result.errors).toBe(0);
  });

  it('says so in the human report', async () => {
    const { port } = await startServer();
    const load = new LoadProcess(['--port', String(port), '--clients', '5', '--duration', '60s', '--log-level', 'debug']);
    await load.waitFor(measuredTraffic);
    load.child.kill('SIGINT');
    const { code, stdout } = await load.finished;
    expect(code).toBe(130);
    expect(stdout).toMatch(/^interrupted: the figures cover the \d+\.\d\d s measured before the stop$/m);
    expect(stdout).toMatch(/^5 of 5 connections held$/m);
  });
});
