import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Network and child-process tests share two cores with the servers they start.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
