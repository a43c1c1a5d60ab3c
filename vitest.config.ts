import { defineConfig } from 'vitest/config';
import LongestFirst from './tests/support/sequencer.js';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    // Three files at a time, on two cores too: most of a test's time is spent waiting on
    // ansible-runner, Postgres or a timer. With the cluster and console walk-through tests the
    // suite takes ~17 minutes on this machine at two or three (CPU-bound): over its 15-minute
    // budget, which the next round must win back.
    poolOptions: { forks: { minForks: 1, maxForks: 3 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ['default', './tests/support/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst },
  },
});
