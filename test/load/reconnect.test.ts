import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { workersNode } from '../../scripts/test-tools.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess } from '../support/server-process.js';
import { LoadProcess } from './support/cli.js';
import type { LoadResult } from '../../load/result/result.js';

/** Established connections on the server's side of `port`, by the pid that holds them (from `ss -p`). */
function serverSockets(port: number): number[] {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return [...out.matchAll(/pid=(\d+),/g)].map((match) => Number(match[1]));
}

describe('echo-load --reconnect', () => {
  it('a rolling restart: a --workers 2 server loses one worker mid-run; its connections are disrupted, and every one reconnects', async () => {
    const node = workersNode();
    expect(existsSync(node), `a Node.js for --workers at ${node} (npm test installs it)`).toBe(true);
    const server = await startServerProcess(['--workers', '2'], { node });
    await eventually(() => server.logs.some((line) => line.msg === 'listening' && line.worker === undefined), "the primary's listening line", 20_000);
    const clients = 40;
    const load = new LoadProcess(['--port', String(server.port), '--clients', String(clients), '--rate', '5', '--duration', '6s', '--workers', '2', '--reconnect', '--json']);
    await load.waitFor(() => serverSockets(server.port).length === clients, 45_000);
    const workers = spawnSync('pgrep', ['-P', String(server.child.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    expect(workers).toHaveLength(2);
    // The worker holding the most: SO_REUSEPORT spreads connections by hash, not evenly.
    const held = workers.map((pid) => serverSockets(server.port).filter((owner) => owner === pid).length);
    const victim = held[0]! >= held[1]! ? 0 : 1;
    expect(held[victim]).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(workers[victim]!, 'SIGKILL');

    const { code, stdout, stderr } = await load.finished;
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as LoadResult;
    // Exactly that worker's connections were broken, and each came back (to the other worker,
    // or to the one the primary starts in its place).
    expect(result.disrupted).toBe(held[victim]);
    expect(result.reconnects).toBe(held[victim]);
    expect(result.reconnect!.totalCount).toBe(held[victim]);
    expect([result.held, result.errors, result.connected]).toEqual([clients, 0, clients + held[victim]!]);
    // At 5 messages/s a broken connection had at most one 64-byte message in flight.
    expect(result.unechoedBytes).toBeLessThanOrEqual(64 * held[victim]!);
    // The intervals say when: every disruption in the interval of the kill or the next (the
    // workers see the resets as the loop reaches them), and the reconnects from then on.
    const intervals = result.intervals!;
    const killed = intervals.findIndex((interval) => interval.start + result.intervalMs! > killedAt);
    const when = (key: 'disrupted' | 'reconnects') => intervals.flatMap((interval, i) => (interval[key] > 0 ? [i - killed] : []));
    expect(intervals.reduce((sum, interval) => sum + interval.disrupted, 0)).toBe(held[victim]);
    expect(intervals.reduce((sum, interval) => sum + interval.reconnects, 0)).toBe(held[victim]);
    expect(when('disrupted').every((i) => i === 0 || i === 1), `disrupted in intervals ${when('disrupted')} from the kill`).toBe(true);
    expect(when('reconnects').every((i) => i >= 0 && i <= 3), `reconnected in intervals ${when('reconnects')} from the kill`).toBe(true);
    // And echo-load closed every connection at the end.
    await eventually(() => serverSockets(server.port).length === 0, 'the server holding no connection', 5000);
  }, 120_000);
});
