import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/api/*.bench.ts'],
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 3_600_000,
  },
});
