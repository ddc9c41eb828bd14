import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // Most of a test's time is spent waiting for the CLI, git and Docker: three files at once on two cores.
    maxWorkers: 3,
    hookTimeout: 300_000,
    // A plain closing line CI can read, besides vitest's own summary.
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
