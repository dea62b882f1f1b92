import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { checkTestTools, TEST_TOOLS } from '../../scripts/test-tools.js';
import { ROOT } from './tools.js';

describe('npm test: the tools the suite needs', () => {
  it('are all installed here (npm test installs them when it runs as root)', async () => {
    const script = join(ROOT, 'dist', 'scripts', 'test-tools.js');
    const code = await new Promise<number | null>((resolve) => spawn(process.execPath, [script], { stdio: 'inherit' }).on('close', resolve));
    expect(code).toBe(0);
  });

  it('when missing and not installable, stop the run with one line naming the command to run', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(checkTestTools({ canInstall: false, path: '/nonexistent' })).toBe(1);
      const packages = [...new Set(Object.values(TEST_TOOLS))].join(' ');
      expect(errors.mock.calls).toEqual([
        [`npm test: needs ${Object.keys(TEST_TOOLS).join(', ')}: install them first (sudo apt-get install ${packages}), or run npm test as root on Debian`],
      ]);
    } finally {
      errors.mockRestore();
    }
  });
});
