import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** `npm run lint`'s depcruise over `functions shared dev` of `cwd`, with the repository's rules and reporter. */
function cruise(cwd: string): { status: number | null; violations: string[] } {
  const run = spawnSync(
    process.execPath,
    [cli, 'functions', 'shared', 'dev', '--config', join(root, '.dependency-cruiser.cjs')],
    { cwd, encoding: 'utf8' },
  );
  // One "error <rule>: <from> → <to>" per violation; a cycle's path goes on over the next lines.
  const violations = [...`${run.stdout}${run.stderr}`.matchAll(/error (\S+): (\S+) →\s*(\S+)/g)].map(
    ([, rule, from, to]) => `${rule}: ${from} → ${to}`,
  );
  return { status: run.status, violations: violations.sort() };
}

describe('the import rules (.dependency-cruiser.cjs)', () => {
  it('fail on a cycle, on shared/ importing functions/, on product code importing dev/ or test/, and on a domain module importing the HTTP edge', () => {
    // A tree laid out like the repository's, each file breaking one rule (see the comments in the fixtures).
    const { status, violations } = cruise(join(import.meta.dirname, 'fixtures', 'violations'));
    expect(status).not.toBe(0);
    expect(violations).toEqual([
      'domain-not-http: shared/knows-http.ts → shared/http/problem.ts',
      'no-circular: shared/cycle/first.ts → shared/cycle/second.ts',
      'product-not-dev-or-test: functions/uses-dev.ts → dev/tool.ts',
      'product-not-dev-or-test: shared/uses-test.ts → test/helper.ts',
      'shared-not-functions: shared/reaches-root.ts → functions/app.ts',
    ]);
  });

  it('pass on the product', () => {
    const { status, violations } = cruise(root);
    expect(violations).toEqual([]);
    expect(status).toBe(0);
  });
});
