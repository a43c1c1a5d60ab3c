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
    // scrypt at 2^12 instead of 2^17 (PLAYSTREAM_PASSWORD_HASH_COST): ~1 s of CPU per password
    // hashed or checked, hundreds of times over the suite. password-hashing.test.ts checks the default.
    env: { PLAYSTREAM_PASSWORD_HASH_COST: '12' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ['default', './tests/support/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst },
  },
});
