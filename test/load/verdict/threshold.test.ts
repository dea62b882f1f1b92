import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../../load/result/result.js';
import { parseThreshold, parseThresholds } from '../../../load/verdict/threshold.js';
import { runLoad, runLoadJson } from '../support/cli.js';
import { runMerge } from '../support/merge.js';
import { startServerProcess } from '../../support/server-process.js';

describe('the threshold grammar', () => {
  it('reads a time in us, ms or s, a bare number being ms, for the echo latency unless a distribution is named', () => {
    for (const text of ['p99<20ms', 'p99<20', 'p99 < 20000us', 'latency_p99<0.02s', 'p99<20000µs']) {
      expect(parseThreshold(text), text).toMatchObject({ metric: 'latency_p99', operator: '<', limit: 20, subject: { kind: 'time', timing: 'latency' } });
    }
    expect(parseThreshold('first_echo_p99<1s')).toMatchObject({ metric: 'first_echo_p99', limit: 1000, subject: { timing: 'firstEcho', stat: { percentile: 99 } } });
    expect(parseThreshold('connect_max<=3s')).toMatchObject({ metric: 'connect_max', operator: '<=', limit: 3000, subject: { timing: 'connect', stat: { name: 'max' } } });
    expect(parseThreshold('handshake_avg>=1')).toMatchObject({ metric: 'handshake_avg', subject: { timing: 'handshake' } });
  });

  it('takes any percentile, written with a dot or an underscore', () => {
    expect(parseThreshold('p99.9<5ms').metric).toBe('latency_p99_9');
    expect(parseThreshold('p99_9<5ms').metric).toBe('latency_p99_9');
    expect(parseThreshold('p75<5ms').subject).toMatchObject({ stat: { percentile: 75 } });
  });

  it('compares counts and rates as plain numbers', () => {
    expect(parseThreshold('errors==0')).toMatchObject({ metric: 'errors', operator: '==', limit: 0, subject: { kind: 'count' } });
    expect(parseThreshold('rate>10000')).toMatchObject({ metric: 'rate', operator: '>', limit: 10000, subject: { kind: 'rate' } });
    expect(parseThresholds(['errors==0,p99<20ms', 'held>=500']).map((t) => t.metric)).toEqual(['errors', 'latency_p99', 'held']);
  });

  it('refuses what it cannot read, each with the reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['p99<<3', /use metric, operator/],
      ['p99=3', /use metric, operator/],
      ['p99<', /use metric, operator/],
      ['p99<20kg', /unknown unit 'kg'/],
      ['errors<3ms', /errors takes a plain number/],
      ['p101<1', /unknown metric 'p101'/],
      ['p0<1', /unknown metric 'p0'/],
      ['latency<1', /unknown metric 'latency'/],
      ['p99ms<1', /unknown metric/],
    ];
    for (const [text, reason] of cases) expect(() => parseThreshold(text), text).toThrow(reason);
    expect(() => parseThreshold('foo<1')).toThrow(expect.objectContaining({ code: 'EOPTION' }));
  });
});

describe('echo-load --threshold', () => {
  it('passes with exit 0 and carries every outcome, with its measured value, in the JSON', async () => {
    const { port } = await startServerProcess();
    const { code, stderr, result } = await runLoadJson([
      '--port', String(port), '--clients', '3', '--messages', '300',
      '--threshold', 'p99<60s', '--threshold', 'errors==0,messages==300', '--threshold', 'first_echo_max<=60s', '--threshold', 'rate>1',
    ]);
    expect([code, stderr]).toEqual([0, '']);
    expect(result.thresholds).toEqual([
      { threshold: 'p99<60s', metric: 'latency_p99', operator: '<', limit: 60_000, value: result.latency.p99, unit: 'ms', passed: true },
      { threshold: 'errors==0', metric: 'errors', operator: '==', limit: 0, value: 0, unit: '', passed: true },
      { threshold: 'messages==300', metric: 'messages', operator: '==', limit: 300, value: 300, unit: '', passed: true },
      { threshold: 'first_echo_max<=60s', metric: 'first_echo_max', operator: '<=', limit: 60_000, value: result.firstEcho.max, unit: 'ms', passed: true },
      { threshold: 'rate>1', metric: 'rate', operator: '>', limit: 1, value: result.requests.average, unit: 'msg/s', passed: true },
    ]);
  });

  it('exits 99 when one is crossed, naming it and the actual value on stderr, and shows it in the report', async () => {
    const { port } = await startServerProcess();
    // Nothing is recorded below 1 µs: p50<1us cannot hold.
    const { code, stdout, stderr } = await runLoad(['--port', String(port), '--clients', '2', '--messages', '100', '--threshold', 'p50<1us', '--threshold', 'messages==100']);
    expect(code).toBe(99);
    expect(stderr).toMatch(/^echo-load: threshold p50<1us crossed: latency_p50 was \d+\.\d+ ms\n$/);
    expect(stdout).toMatch(/^Thresholds: 1 passed, 1 crossed$/m);
    expect(stdout).toMatch(/^ {2}CROSSED p50<1us \(latency_p50 was .+ ms\)$/m);
    expect(stdout).toMatch(/^ {2}ok {6}messages==100 \(messages was 100\)$/m);
    const json = await runLoadJson(['--port', String(port), '--clients', '2', '--messages', '100', '--threshold', 'p50<1us']);
    expect(json.code).toBe(99);
    expect(json.result.thresholds).toEqual([expect.objectContaining({ metric: 'latency_p50', value: json.result.latency.p50, passed: false })]);
    expect(json.stderr).toBe(`echo-load: threshold p50<1us crossed: latency_p50 was ${json.result.latency.p50!.toFixed(json.result.latency.p50! >= 1 ? 2 : 3)} ms\n`);
  });

  it('fails a time threshold over a distribution without samples', async () => {
    const { port } = await startServerProcess();
    const { code, stderr, result } = await runLoadJson(['--port', String(port), '--clients', '1', '--messages', '5', '--threshold', 'handshake_p99<1s']);
    expect(code).toBe(99);
    expect(stderr).toBe('echo-load: threshold handshake_p99<1s crossed: handshake_p99 has no samples\n');
    expect(result.thresholds![0]).toMatchObject({ value: null, passed: false });
  });

  it('lets a threshold on errors stand for the rule that any error fails the run', async () => {
    const { port } = await startServerProcess();
    const closed = await startServerProcess();
    const closedPort = closed.port;
    closed.child.kill('SIGKILL');
    await closed.exited;
    // Half the connections go to a port where nothing listens: 2 refused.
    const args = ['--target', `127.0.0.1:${port}`, '--target', `127.0.0.1:${closedPort}`, '--clients', '4', '--messages', '40'];
    const plain = await runLoadJson(args);
    expect([plain.code, plain.result.refused, plain.result.errors]).toEqual([1, 2, 2]);
    const tolerated = await runLoadJson([...args, '--threshold', 'errors<=2']);
    expect([tolerated.code, tolerated.stderr]).toEqual([0, '']);
    const strict = await runLoadJson([...args, '--threshold', 'errors==0']);
    expect([strict.code, strict.stderr]).toEqual([99, 'echo-load: threshold errors==0 crossed: errors was 2\n']);
    // A threshold on another figure leaves the rule in force.
    const other = await runLoadJson([...args, '--threshold', 'refused<=2']);
    expect(other.code).toBe(1);
  });

  it('is a usage error (exit 2, one line, nothing run) when it cannot be read', async () => {
    for (const text of ['p99<<20ms', 'p99<20kg', 'nonsense']) {
      // Port 1: had it run, it would have failed to connect with exit 1.
      const { code, stdout, stderr } = await runLoad(['--port', '1', '--threshold', text]);
      expect([code, stdout], text).toEqual([2, '']);
      expect(stderr, text).toMatch(new RegExp(`^echo-load: invalid threshold '${text.replace(/[<*]/g, '\\$&')}': [^\\n]+\\n$`));
    }
    const merge = await runMerge(['--threshold', 'p99<', '-'], '');
    expect([merge.code, merge.stderr]).toEqual([2, "echo-load: invalid threshold 'p99<': use metric, operator (< <= > >= ==) and a number, e.g. p99<20ms, errors==0, rate>10000\n"]);
  });

  it('judges a merge as it judges a run', async () => {
    const { port } = await startServerProcess();
    const runs = await Promise.all([1, 2].map(() => runLoadJson(['--port', String(port), '--clients', '2', '--messages', '100'])));
    const stdin = runs.map((run) => run.stdout).join('');
    const pass = await runMerge(['--json', '--threshold', 'messages==200', '-'], stdin);
    expect(pass.code).toBe(0);
    expect((JSON.parse(pass.stdout) as LoadResult).thresholds).toEqual([expect.objectContaining({ value: 200, passed: true })]);
    const fail = await runMerge(['--threshold', 'messages>200', '-'], stdin);
    expect([fail.code, fail.stderr]).toEqual([99, 'echo-load: threshold messages>200 crossed: messages was 200\n']);
    expect(fail.stdout).toMatch(/^ {2}CROSSED messages>200 \(messages was 200\)$/m);
  });
});
