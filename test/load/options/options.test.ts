import { describe, expect, it } from 'vitest';
import { OptionError } from '../../../src/parse-option.js';
import { parseOptions } from '../../../load/options/options.js';
import type { LoadResult } from '../../../load/result/result.js';
import { startServer } from '../../support/server.js';
import { runLoad } from '../support/cli.js';

describe('echo-load options', () => {
  it('applies the defaults', () => {
    const options = parseOptions({}, 2);
    expect(options).toMatchObject({ host: '127.0.0.1', port: 8090, clients: 10, workers: 2, durationMs: 10_000, pipeline: 1, rate: 0 });
    expect(options.messages).toBeUndefined();
    expect(Buffer.from(options.payload).toString()).toBe('abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl');
  });

  it('never uses more workers than clients', () => {
    expect(parseOptions({ clients: '3', workers: '8' }, 2).workers).toBe(3);
    expect(parseOptions({ clients: '1' }, 4).workers).toBe(1);
  });

  it('allows up to 64 MiB in flight per connection, whether from --size or --payload', () => {
    expect(parseOptions({ pipeline: '64', size: String(1024 * 1024) }, 1).pipeline).toBe(64);
    expect(parseOptions({ pipeline: '65536', payload: 'x'.repeat(1024) }, 1).pipeline).toBe(65_536);
    expect(() => parseOptions({ pipeline: '65536', payload: 'x'.repeat(1025) }, 1)).toThrow(/--pipeline 65536 x --payload of 1025 B .*64 MiB/);
  });

  it('reads durations with units and a payload as text', () => {
    const options = parseOptions({ duration: '1m', warmup: '500ms', timeout: '5s', payload: 'héllo' }, 1);
    expect([options.durationMs, options.warmupMs, options.timeoutMs]).toEqual([60_000, 500, 5000]);
    expect(Buffer.from(options.payload)).toEqual(Buffer.from('héllo'));
  });

  it.each([
    [{ clients: '0' }, /clients/],
    [{ duration: '5 parsecs' }, /duration/],
    [{ duration: '0s' }, /duration/],
    [{ duration: '1s', messages: '10' }, /either --duration or --messages/],
    [{ messages: '10', warmup: '1s' }, /--warmup cannot be combined with --messages/],
    [{ size: '10', payload: 'x' }, /either --size or --payload/],
    [{ payload: '' }, /payload/],
    [{ port: '70000' }, /port/],
    [{ pipeline: '0' }, /pipeline/],
    [{ pipeline: '65536', size: '16777216' }, /--pipeline 65536 x --size 16777216 .*64 MiB/],
    [{ logLevel: 'loud' }, /log-level/],
  ])('rejects %j with an OptionError', (raw, pattern) => {
    expect(() => parseOptions(raw, 2)).toThrow(OptionError);
    expect(() => parseOptions(raw, 2)).toThrow(pattern);
  });

  it.each([
    [['--clients', 'many'], /^echo-load: .*clients.*'many'/],
    [['--duration', '10x'], /^echo-load: .*duration.*'10x'/],
    [['--frobnicate'], /^echo-load: unknown option '--frobnicate'$/],
    [['--pipeline', '1024', '--size', '1048576'], /^echo-load: .*--pipeline 1024 x --size 1048576.*64 MiB/],
  ])('exits 2 with one line for %j', async (args, pattern) => {
    const { code, stdout, stderr } = await runLoad(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr.trimEnd()).toMatch(pattern);
  });

  it('documents what --messages counts in --help', async () => {
    const { code, stdout } = await runLoad(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--messages <n>\s+run until N messages in total/);
    expect(stdout).toContain('130 interrupted');
  });

  it('reads every option from ECHO_LOAD_* variables, and a flag wins over its variable', async () => {
    const { port } = await startServer();
    const env = {
      ECHO_LOAD_HOST: 'localhost',
      ECHO_LOAD_PORT: String(port),
      ECHO_LOAD_CLIENTS: '3',
      ECHO_LOAD_WORKERS: '1',
      ECHO_LOAD_MESSAGES: '30',
      ECHO_LOAD_SIZE: '16',
      ECHO_LOAD_PIPELINE: '2',
      ECHO_LOAD_RATE: '100',
      ECHO_LOAD_JSON: '1',
    };
    const counted = await runLoad([], undefined, env);
    expect(counted.code, counted.stderr).toBe(0);
    const result = JSON.parse(counted.stdout) as LoadResult;
    expect(result).toMatchObject({ host: 'localhost', port, connections: 3, workers: 1, size: 16, pipelining: 2, rate: 100, errors: 0 });
    expect(result.requests.total).toBe(30);
    expect(result.throughput.total).toBe(30 * 16);

    const timed = await runLoad(['--clients', '2'], undefined, {
      ...env,
      ECHO_LOAD_MESSAGES: undefined,
      ECHO_LOAD_SIZE: undefined,
      ECHO_LOAD_RATE: undefined,
      ECHO_LOAD_PAYLOAD: 'héllo',
      ECHO_LOAD_DURATION: '700ms',
      ECHO_LOAD_WARMUP: '300ms',
      ECHO_LOAD_LOG_LEVEL: 'info',
    });
    expect(timed.code, timed.stderr).toBe(0);
    const second = JSON.parse(timed.stdout) as LoadResult;
    expect(second).toMatchObject({ connections: 2, size: Buffer.byteLength('héllo'), errors: 0 });
    expect(second.duration).toBeGreaterThanOrEqual(0.7);
    expect(second.duration).toBeLessThan(5);
    // info logs on stderr, and the warm-up between the connections settling and the measuring.
    const logs = timed.stderr.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; time: number });
    const at = (msg: string) => logs.find((line) => line.msg === msg)!.time;
    expect(at('measuring') - at('connections settled')).toBeGreaterThanOrEqual(300 - 1);

    const bad = await runLoad([], undefined, { ECHO_LOAD_CLIENTS: 'many' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^echo-load: clients .*'many'\)\n$/);
  });
});
