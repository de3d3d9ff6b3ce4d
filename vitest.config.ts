import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The full-stack tier (Azurite, the local host, a browser, `npm start`, child processes) and the tests that set
 * process-wide state (telemetry, the entry point): each file in a fresh process, as its servers and globals need.
 */
const FULL_STACK = [
  'test/alarms/alarm-kinds.test.ts',
  'test/browser/**/*.test.ts',
  'test/dev-host/http.test.ts',
  'test/dev-host/lifecycle.test.ts',
  'test/dev-host/queues.test.ts',
  'test/dev-host/timers.test.ts',
  'test/dialplan/dialplan-sync.test.ts',
  'test/email/outbox.test.ts',
  'test/lint/**/*.test.ts',
  'test/onboarding/onboarding-e2e.test.ts',
  'test/onboarding/onboarding-variants.test.ts',
  'test/ops/health.test.ts',
  'test/ops/telemetry.test.ts',
  'test/replication/**/*.test.ts',
  'test/start/**/*.test.ts',
  'test/storage/identity-storage.test.ts',
  'test/storage/versioned-table.conformance.test.ts',
];

/**
 * Acceptance at scale on the full stack (a thousand-row import on Azurite, a host killed midway, replication that
 * survives dying hosts and refused tokens, an onboarding through an SBC outage and a killed host, two instances of the
 * app on one storage (nothing runs twice), the README's
 * `npm start` booted twice from a build, every onboarding task dry-run then run on a fresh customer): half a minute
 * or more each, so not part of `npm test`; `npm run test:stack` runs them, and so does CI.
 */
const STACK = [
  'test/onboarding/dry-run-descriptions.test.ts',
  'test/start/npm-start.test.ts',
  'test/users/day-two-stack.test.ts',
  'test/replication/replication-resilience.test.ts',
  'test/onboarding/onboarding-resilience.test.ts',
  'test/scale/scale-out.test.ts',
];

/**
 * The end-to-end suites (onboarding and removal, replication, dial-plan sync) once more against the sandbox's
 * `reality` profile (dev/sandbox/profile.ts: lags, refusals and partial applies of the real services), its delays
 * scaled down so the suites take minutes, not hours. `npm run test:reality` runs them, and so does CI.
 */
const REALITY = [
  'test/onboarding/onboarding-e2e.test.ts',
  'test/replication/replication-cycles.test.ts',
  'test/dialplan/dialplan-sync.test.ts',
];
/**
 * The reality profile's delays times this: 0.02 turns a real minute (a domain's activation, a role's propagation)
 * into 1.2 s, long enough that the product must wait and poll, short enough for CI. A different
 * `SANDBOX_DELAY_SCALE` in the environment wins (1 plays the real delays).
 */
const REALITY_DELAY_SCALE = process.env.SANDBOX_DELAY_SCALE || '0.02';

/**
 * The deployment package, built and booted under the Node that Azure runs (NODE_BINARY): CI runs it once, under
 * that Node (`npm run test:package`), not again in `npm test`.
 */
const PACKAGE = ['test/package/**/*.test.ts'];

const shared = {
  pool: 'forks',
  testTimeout: 60_000,
  hookTimeout: 60_000,
  restoreMocks: true,
} as const;

export default defineConfig({
  test: {
    // Vitest keeps a core free by default, which on two cores runs one file at a time; the full-stack files mostly
    // wait on Azurite, the host and timers, so two at once use the machine.
    maxWorkers: 2,
    projects: [
      {
        // In process, on the memory twins: sharing one module graph per worker saves importing the app per file.
        test: {
          ...shared,
          name: 'fast',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...FULL_STACK, ...STACK, ...PACKAGE],
          isolate: false,
        },
      },
      {
        test: {
          ...shared,
          name: 'full',
          include: FULL_STACK,
          exclude: [...configDefaults.exclude, ...STACK],
        },
      },
      { test: { ...shared, name: 'stack', include: STACK } },
      {
        test: {
          ...shared,
          name: 'reality',
          include: REALITY,
          // Waits the product makes under the profile's (scaled) delays come on top of the strict runs' times.
          testTimeout: 180_000,
          hookTimeout: 300_000,
          env: { SANDBOX_PROFILE: 'reality', SANDBOX_DELAY_SCALE: REALITY_DELAY_SCALE },
        },
      },
      { test: { ...shared, name: 'package', include: PACKAGE } },
    ],
    // Off unless asked for (`npm run coverage` passes --coverage): instrumenting slows every test run.
    coverage: {
      provider: 'v8',
      include: ['functions/**', 'shared/**', 'dev/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
