import { describe, expect, it } from 'vitest';
import { closed, connect, readBytes } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { startServerProcess } from '../support/server-process.js';

const WARNING = 'connection limit reached: closing new connections';
const INTERVAL_MS = 10_000;

describe('the connection limit warning', () => {
  it('comes at once, then at most once per 10 s, and its lines count every connection closed', async () => {
    const server = await startServerProcess(['--max-connections', '1']);
    const kept = await connect(server.port);
    const reply = readBytes(kept, 4);
    kept.write('kept');
    expect((await reply).toString()).toBe('KEPT');

    const extra = 30;
    for (let i = 0; i < extra; i++) {
      const socket = await connect(server.port);
      socket.on('error', () => {});
      expect(await closed(socket)).toBe(true);
    }
    const warnings = () => server.logs.filter((line) => line.msg === WARNING);
    await eventually(() => warnings().length > 0, 'the first warning');
    kept.destroy();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);

    // The first one is logged as it happens, with the limit.
    const lines = warnings() as Array<{ level: number; time: number; occurrences: number; maxConnections?: number }>;
    expect(lines[0]).toMatchObject({ level: 40, maxConnections: 1, occurrences: 1 });
    // While serving, lines are 10 s apart at least (pino's clock against the server's own:
    // a millisecond of slack); shutdown then logs the rest of the count.
    const shutdownAt = server.logs.findIndex((line) => line.msg === 'shutdown begun');
    const serving = lines.filter((line) => server.logs.indexOf(line) < shutdownAt);
    for (let i = 1; i < serving.length; i++) expect(serving[i]!.time - serving[i - 1]!.time).toBeGreaterThanOrEqual(INTERVAL_MS - 1);
    expect(lines.length - serving.length).toBeLessThanOrEqual(1);
    expect(lines.length).toBeLessThan(extra);
    // Every rejected connection is in exactly one line's count.
    const done = server.logs.find((line) => line.msg === 'shutdown done')!;
    expect(done.rejected).toBe(extra);
    expect(lines.reduce((sum, line) => sum + line.occurrences, 0)).toBe(extra);
  });
});
