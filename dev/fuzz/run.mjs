// `npm run fuzz`: the fuzz suite (test/api/fuzz.test.ts) at length, with a random seed unless FUZZ_SEED names one;
// FUZZ_RUNS, FUZZ_OPERATION and FUZZ_PATH pass through (docs/security.md). A script rather than an inline variable, so
// that it runs the same from every shell.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Its own entry point, which the package does not export: beside its package.json.
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const { status } = spawnSync(
  process.execPath,
  [vitest, 'run', '--project', 'fast', 'test/api/fuzz.test.ts', ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, FUZZ_LONG: 'true' } },
);
process.exit(status ?? 1);
