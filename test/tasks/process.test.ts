import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// These run the *built* runtime in a real child process: `npm test` builds first; when running
// vitest directly, run `npm run build` before.
const built = fileURLToPath(new URL('../../dist/src/tasks/index.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a fixture with node; a child that does not exit on its own is killed after 20 s. */
function runFixture(name: string): Promise<Exit> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [fixture(name)], { timeout: 20_000 }, (_error, stdout, stderr) => {
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
});

describe('the runtime in a real process', () => {
  it('reports a failed task on stderr with its message, and the process still exits 0 on its own', async () => {
    const exit = await runFixture('failing-task.mjs');
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(/Task#\d+\(failing\) failed: Error: disk on fire/);
    expect(exit.stdout).toBe('survivor finished\n');
  });

  it('leaves no timer behind once deadlines end early and a spawnLater task is killed', async () => {
    const exit = await runFixture('leaves-nothing-behind.mjs');
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe('joined 1: item true second\n');
    expect(exit.stderr).toBe('');
  });
});
