import { describe, expect, it } from 'vitest';
import { TransientError } from '../../shared/errors/domain-errors.js';
import { createSiteClaimLock } from '../../shared/onboarding/site-claim-lock.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';

/** A clock the test moves; sleeping moves it too, so waits cost no real time. */
function clock() {
  let at = Date.parse('2026-12-03T12:00:00Z');
  return {
    now: () => at,
    sleep: async (ms: number) => {
      at += ms;
    },
  };
}

describe('the lease on a site’s shared resources', () => {
  it('makes a second holder wait, and gives it the lease once the first is done', async () => {
    const lock = createSiteClaimLock(memoryTables());
    const order: string[] = [];
    let release = () => {};
    const first = lock.hold(['sbc|sbc-eu1'], async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('first out');
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = lock.hold(['fqdn|x.example', 'sbc|sbc-eu1'], async () => order.push('second in'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('takes over the lease of a holder that stopped without releasing it, once it ran out', async () => {
    const tables = memoryTables();
    const time = clock();
    const crashed = createSiteClaimLock(tables, { ...time, leaseMs: 15_000 });
    // A holder whose process stops mid-work never reaches its release.
    void crashed.hold(['sbc|sbc-eu1'], () => new Promise(() => {}));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const next = createSiteClaimLock(tables, { ...time, waitMs: 20_000 });
    expect(await next.hold(['sbc|sbc-eu1'], async () => 'saved')).toBe('saved');
    expect(time.now() - Date.parse('2026-12-03T12:00:00Z')).toBeGreaterThanOrEqual(15_000);
  });

  it('tells a writer to try again (a transient error, not a conflict) when the lease stays held', async () => {
    const tables = memoryTables();
    const time = clock();
    const holder = createSiteClaimLock(tables, { ...time, leaseMs: 60_000 });
    void holder.hold(['sbc|sbc-eu1'], () => new Promise(() => {}));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const waiting = createSiteClaimLock(tables, { ...time, waitMs: 1_000 });
    await expect(waiting.hold(['sbc|sbc-eu1'], async () => 'saved')).rejects.toBeInstanceOf(TransientError);
  });
});
