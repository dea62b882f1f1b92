import { describe, expect, it } from 'vitest';
import { firstReachable } from '../../../load/options/reachable.js';
import { plainEcho, startFakeServer, unusedPort } from '../support/servers.js';

describe('choosing among the addresses of a host', () => {
  it('skips an address where nothing listens for the next one that accepts', async () => {
    const { port } = await startFakeServer(plainEcho);
    expect(await firstReachable(['::1', '127.0.0.1'], port)).toBe('127.0.0.1');
  });

  it('keeps the resolver order when the first address accepts', async () => {
    const { port } = await startFakeServer(plainEcho);
    expect(await firstReachable(['127.0.0.1', '::1'], port)).toBe('127.0.0.1');
  });

  it('falls back to the first address when none accepts, so the run reports the refusal', async () => {
    const port = await unusedPort();
    expect(await firstReachable(['::1', '127.0.0.1'], port)).toBe('::1');
  });
});
