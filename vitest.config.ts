import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // A plain closing line CI can read, besides vitest's own summary.
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
