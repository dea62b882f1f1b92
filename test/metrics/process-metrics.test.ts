import { closeSync, openSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { addProcessMetrics, DROPPED_DEFAULT_METRICS } from '../../src/metrics/index.js';
import { parseSamples } from './scrape.js';

async function samples(registry: Registry): Promise<Map<string, number>> {
  return parseSamples(await registry.metrics());
}

describe('process metrics', () => {
  it("keep prom-client's defaults that cost the same at any number of connections", async () => {
    const registry = new Registry();
    addProcessMetrics(registry);
    const text = await registry.metrics();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_max_fds',
      'process_open_fds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
      'nodejs_active_requests',
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    for (const name of DROPPED_DEFAULT_METRICS.filter((n) => n !== 'process_open_fds')) {
      expect(text, name).not.toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
  });

  it('count open file descriptors exactly', async () => {
    const registry = new Registry();
    addProcessMetrics(registry);
    const before = (await samples(registry)).get('process_open_fds')!;
    expect(before).toBeGreaterThan(2); // stdin, stdout, stderr at least
    const fds = Array.from({ length: 25 }, () => openSync('/dev/null', 'r'));
    try {
      expect((await samples(registry)).get('process_open_fds')).toBe(before + 25);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    expect((await samples(registry)).get('process_open_fds')).toBe(before);
  });
});
