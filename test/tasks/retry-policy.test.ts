import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_TIMING } from '../../shared/tasks/task-engine.js';
import { backoffDelay, decideRetry, type TaskRetry } from '../../shared/tasks/retry-policy.js';

const timing = DEFAULT_TASK_TIMING;
const MINUTE = 60_000;
const start = new Date('2026-12-02T10:00:00.000Z');
const after = (ms: number) => new Date(start.getTime() + ms);

describe('the back-off schedule', () => {
  it('doubles from 2 seconds and stops at 5 minutes', () => {
    const top = () => 0;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => backoffDelay(n, timing, top))).toEqual([
      2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000,
    ]);
    expect(backoffDelay(40, timing, top)).toBe(5 * MINUTE);
  });

  it('jitters each delay down by at most a fifth, never above the cap', () => {
    expect(backoffDelay(3, timing, () => 0)).toBe(8_000);
    expect(backoffDelay(3, timing, () => 0.5)).toBe(7_200);
    expect(backoffDelay(3, timing, () => 0.999_999)).toBe(6_400);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(12, timing, Math.random);
      expect(delay).toBeGreaterThanOrEqual(4 * MINUTE);
      expect(delay).toBeLessThanOrEqual(5 * MINUTE);
    }
  });

  it('outlasts a 90-second SBC reboot that the old five attempts (30 s) did not', () => {
    // The old budget: 2 + 4 + 8 + 16 s between five attempts.
    expect([1, 2, 3, 4].reduce((sum, n) => sum + backoffDelay(n, timing, () => 0), 0)).toBe(30_000);
    let previous: TaskRetry | null = null;
    let at = start;
    while (at.getTime() - start.getTime() <= 90_000) {
      const decision = decideRetry({
        step: 'ProgramSbc',
        error: 'unreachable',
        previous,
        now: at,
        timing,
        random: () => 0.5,
      });
      expect(decision.retry).toBe(true);
      if (!decision.retry) break;
      previous = decision.record;
      at = decision.at;
    }
    // The first try after the reboot comes within a few minutes, well inside the 30-minute window.
    expect(at.getTime() - start.getTime()).toBeLessThan(4 * MINUTE);
  });
});

describe('the retry window', () => {
  const fail = (previous: TaskRetry | null, now: Date, extra: { retryAfterMs?: number } = {}) =>
    decideRetry({
      step: 'ProgramSbc',
      error: 'SBC unreachable',
      previous,
      now,
      timing,
      random: () => 0,
      ...extra,
    });

  it('counts from the first failure of the step and keeps it across tries', () => {
    const first = fail(null, start);
    expect(first).toMatchObject({
      retry: true,
      at: after(2_000),
      record: { step: 'ProgramSbc', since: start.toISOString(), failures: 1, lastError: 'SBC unreachable' },
    });
    const second = fail(first.record, after(2_000));
    expect(second).toMatchObject({
      retry: true,
      at: after(6_000),
      record: { since: start.toISOString(), failures: 2 },
    });
    expect(second.record.nextAttemptAt).toBe(after(6_000).toISOString());
  });

  it("starts again for another step (the previous one's success reset it)", () => {
    const first = fail(null, start);
    const other = decideRetry({
      step: 'CreateDomain',
      error: 'Graph 503',
      previous: first.record,
      now: after(10 * MINUTE),
      timing,
      random: () => 0,
    });
    expect(other.record).toMatchObject({
      step: 'CreateDomain',
      since: after(10 * MINUTE).toISOString(),
      failures: 1,
    });
  });

  it("honours the peer's Retry-After, within the window", () => {
    expect(fail(null, start, { retryAfterMs: 45_000 })).toMatchObject({ retry: true, at: after(45_000) });
  });

  it('places the last try at the end of the window, and fails after it naming the last error', () => {
    const since: TaskRetry = {
      step: 'ProgramSbc',
      since: start.toISOString(),
      failures: 12,
      lastError: 'earlier',
      nextAttemptAt: after(28 * MINUTE).toISOString(),
    };
    const last = fail(since, after(28 * MINUTE));
    expect(last).toMatchObject({ retry: true, at: after(30 * MINUTE) });
    const end = fail(last.record, after(30 * MINUTE));
    expect(end.retry).toBe(false);
    if (end.retry) return;
    expect(end.message).toBe(
      'ProgramSbc kept failing for 30 minutes (14 tries; the retry window is 30 minutes). Last error: SBC unreachable',
    );
  });

  it('is a setting: a shorter window ends sooner', () => {
    const short = { ...timing, retryWindowMs: 5 * MINUTE };
    const first = decideRetry({
      step: 'S',
      error: 'x',
      previous: null,
      now: start,
      timing: short,
      random: () => 0,
    });
    const end = decideRetry({
      step: 'S',
      error: '503 Service Unavailable',
      previous: first.record,
      now: after(5 * MINUTE),
      timing: short,
      random: () => 0,
    });
    expect(end).toMatchObject({
      retry: false,
      message: expect.stringContaining('Last error: 503 Service Unavailable'),
    });
  });
});
