import { defineConfig } from 'vitest/config';

/** The console's measurements (bench/console/*.bench.ts): the tests' set-up, run by hand only. */
export default defineConfig({
  test: {
    include: ['bench/console/*.bench.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
