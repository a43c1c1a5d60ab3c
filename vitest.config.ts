import { defineConfig } from 'vitest/config';
import LongestFirst from './tests/support/sequencer.js';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    setupFiles: ['tests/support/per-file.ts'],
    pool: 'forks',
    // A worker runs file after file with its modules loaded once: ~1.5 s of CPU per file saved
    // (a process and the import of the server's modules). per-file.ts undoes what a file leaves.
    isolate: false,
    // Three files at a time, on two cores too: most of a test's time is spent waiting on
    // ansible-runner, Postgres or a timer; the suite is CPU-bound all the same (README, Tests).
    // minForks = maxForks: with isolate off, tinypool's removal of an idle worker above
    // minForks ended runs early ("Terminating worker thread") with a file still running.
    poolOptions: { forks: { minForks: 3, maxForks: 3 } },
    // scrypt at 2^12 instead of 2^17 (PLAYSTREAM_PASSWORD_HASH_COST): ~1 s of CPU per password
    // hashed or checked, hundreds of times over the suite. password-hashing.test.ts checks the default.
    env: { PLAYSTREAM_PASSWORD_HASH_COST: '12' },
    testTimeout: 60_000,
    // expect.poll's default 5 s is short for a browser page on a loaded machine (setup-forms failed so once).
    expect: { poll: { timeout: 15_000 } },
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ['default', './tests/support/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst },
  },
});
