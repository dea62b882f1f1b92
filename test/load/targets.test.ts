import { describe, expect, it } from 'vitest';
import { parseTargets } from '../../load/options/target.js';
import { runLoad, runLoadJson } from './support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/** Connections the server accepted, from its own /metrics. */
async function accepted(server: ServerProcess): Promise<number> {
  const metricsPort = server.logs.find((entry) => entry.msg === 'metrics listening')?.port as number;
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('echo_connections_accepted_total{listener="plain"}'));
  return Number(line?.split(' ')[1]);
}

describe('--target values', () => {
  it('take host:port, [v6]:port, host or :port, --host and --port filling in what a target leaves out', () => {
    expect(parseTargets(['a:1', ':2', 'b', '[::1]:3', '::1', 'c:4,d:5'], 'h', 8090).map((t) => t.name)).toEqual([
      'a:1', 'h:2', 'b:8090', '[::1]:3', '[::1]:8090', 'c:4', 'd:5',
    ]);
    expect(parseTargets([], '127.0.0.1', 9000)).toEqual([{ host: '127.0.0.1', port: 9000, name: '127.0.0.1:9000' }]);
  });

  it('refuses a bad one, or the same one twice', () => {
    expect(() => parseTargets(['a:0'], 'h', 1)).toThrow(/port of target 'a:0' must be a whole number from 1 to 65535/);
    expect(() => parseTargets(['a:x'], 'h', 1)).toThrow(/port of target 'a:x'/);
    expect(() => parseTargets(['[nope]:1'], 'h', 1)).toThrow(/invalid target '\[nope\]:1'/);
    expect(() => parseTargets(['a:1,'], 'h', 1)).toThrow(/invalid target ''/);
    expect(() => parseTargets(['a:1', 'a:1'], 'h', 1)).toThrow('--target a:1 is given twice');
    expect(() => parseTargets([':1'], 'h', 8090)).not.toThrow();
  });
});

describe('echo-load --target', () => {
  it('spreads connections round-robin over two servers and breaks the figures down per target', async () => {
    const [one, two] = await Promise.all([startServerProcess(), startServerProcess()]);
    const targets = [`127.0.0.1:${one.port}`, `127.0.0.1:${two.port}`];
    const { code, stderr, result } = await runLoadJson(['--target', targets[0]!, '--target', targets[1]!, '--clients', '7', '--messages', '3500', '--workers', '2']);
    expect([code, stderr]).toEqual([0, '']);
    const per = result.targets!;
    expect(per.map((t) => [t.target, t.address, t.port])).toEqual([
      [targets[0], '127.0.0.1', one.port],
      [targets[1], '127.0.0.1', two.port],
    ]);
    // 7 connections round-robin: 4 and 3; 500 messages each.
    expect(per.map((t) => [t.connections, t.connected, t.held, t.messages, t.errors])).toEqual([
      [4, 4, 4, 2000, 0],
      [3, 3, 3, 1500, 0],
    ]);
    const sum = (key: 'connections' | 'connected' | 'held' | 'messages' | 'errors') => per.reduce((total, t) => total + t[key], 0);
    expect([sum('connections'), sum('connected'), sum('held'), sum('messages'), sum('errors')]).toEqual([
      result.connections, result.connected, result.held, result.requests.total, result.errors,
    ]);
    expect(per.reduce((total, t) => total + t.latency.totalCount!, 0)).toBe(result.latency.totalCount);
    for (const t of per) expect(t.latency.p50).toBeLessThanOrEqual(t.latency.p99!);
    // Each server saw its share, by its own count.
    expect([await accepted(one), await accepted(two)]).toEqual([4, 3]);
    // The first target is the result's host and port, as autocannon's keys have them.
    expect([result.host, result.port]).toEqual(['127.0.0.1', one.port]);
  });

  it('shows a row per target in the report, and counts a target that refuses as its own errors', async () => {
    const server = await startServerProcess();
    const closed = await startServerProcess();
    closed.child.kill('SIGKILL');
    await closed.exited;
    const { code, stdout } = await runLoad(['--host', '127.0.0.1', '--target', `:${server.port}`, '--target', `:${closed.port}`, '--clients', '4', '--messages', '40']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^echo-load: 4 connections to 2 targets over /m);
    expect(stdout).toMatch(new RegExp(`^│ 127\\.0\\.0\\.1:${server.port} +│ 2 +│ 2 +│ 20 +│ 100\\.0% +│ 0 +│`, 'm'));
    expect(stdout).toMatch(new RegExp(`^│ 127\\.0\\.0\\.1:${closed.port} +│ 2 +│ 0 +│ 0 +│ 0\\.0% +│ 2 +│`, 'm'));
    expect(stdout).toMatch(/^2 errors: 2 refused/m);
  });

  it('says in one line when no target can be reached', async () => {
    const { code, stdout, stderr } = await runLoad(['--target', '127.0.0.1:1', '--target', '127.0.0.1:2', '--clients', '2']);
    expect([code, stdout]).toEqual([1, '']);
    expect(stderr).toBe('echo-load: cannot connect to any of the 2 targets: connection refused (is the server running?)\n');
  });

  it('is a usage error for a bad target', async () => {
    const { code, stderr } = await runLoad(['--target', 'a:1', '--target', 'a:1']);
    expect([code, stderr]).toEqual([2, 'echo-load: --target a:1 is given twice\n']);
  });
});
