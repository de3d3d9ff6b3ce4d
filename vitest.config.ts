import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    restoreMocks: true,
    // Off unless asked for (`npm run coverage` passes --coverage): instrumenting slows every test run.
    coverage: {
      provider: 'v8',
      include: ['functions/**', 'shared/**', 'dev/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
