import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { runLoadJson } from './support/cli.js';

const STALLING_SERVER = fileURLToPath(new URL('./fixtures/stalling-server.mjs', import.meta.url));

const kills: Array<() => void> = [];
afterEach(() => {
  for (const kill of kills.splice(0)) kill();
});

/** Starts the stalling echo server (fixtures/stalling-server.mjs) in its own process. */
async function startStallingServer(stallMs: number, everyMs: number, stalls: number): Promise<{ port: number; stalls: number[] }> {
  const child = spawn(process.execPath, [STALLING_SERVER, String(stallMs), String(everyMs), String(stalls)], { stdio: ['ignore', 'pipe', 'inherit'] });
  kills.push(() => child.kill('SIGKILL'));
  let port = 0;
  const seen: number[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [word, value] = line.split(' ');
    if (word === 'listening') port = Number(value);
    else if (word === 'stall') seen.push(Number(value));
  });
  await eventually(() => port > 0, 'the stalling server to listen');
  return { port, stalls: seen };
}

describe('echo-load --rate', () => {
  it('counts latency from the intended send time: a server that stalls delays every message due meanwhile', async () => {
    // 10 connections at 50 messages/s for 8 s, against a server that holds its loop 500 ms at
    // 1 s, 3 s and 5 s into the run.
    const clients = 10;
    const rate = 50;
    const server = await startStallingServer(500, 2000, 3);
    const { code, result } = await runLoadJson(['--port', String(server.port), '--clients', String(clients), '--workers', '1', '--rate', String(rate), '--messages', String(clients * rate * 8)]);
    expect(code).toBe(0);
    expect([result.errors, result.requests.total]).toEqual([0, 4000]);
    expect(server.stalls).toHaveLength(3);
    // During a stall of d ms each connection had one message in flight and d x rate / 1000
    // more fell due; each of those is late by the time from its due time to the stall's end,
    // so the correction spreads them evenly over 0..d ms: per stall, the share of all echo
    // latencies above d - x is x x clients x rate / 1000 / count. So the p90 lies at about
    // d - 266 ms and the p97.5 at d - 67 ms (9.4% of the samples are 250 ms or more).
    // Counted from the real send time, only the one message in flight per connection per
    // stall would be late (30, 0.75%): the rest go out after the stall and come back at once.
    const d = server.stalls.reduce((sum, ms) => sum + ms, 0) / server.stalls.length;
    const perMs = (server.stalls.length * clients * rate) / 1000;
    const at = (share: number) => d - (share * result.latency.totalCount!) / perMs;
    // Generous bounds: a loaded machine makes echoes later, never earlier.
    expect(result.latency.p90).toBeGreaterThan(at(0.1) - 100);
    expect(result.latency.p90).toBeLessThan(at(0.1) + 150);
    expect(result.latency.p97_5).toBeGreaterThan(at(0.025) - 100);
    expect(result.latency.p97_5).toBeLessThan(at(0.025) + 150);
    // Nothing else is late: the median is an unstalled echo, and no message waited much
    // longer than the longest stall.
    expect(result.latency.p50).toBeLessThan(100);
    expect(result.latency.max).toBeGreaterThanOrEqual(Math.min(...server.stalls) * 0.9);
    expect(result.latency.max).toBeLessThan(Math.max(...server.stalls) + 500);
  }, 60_000);
});
