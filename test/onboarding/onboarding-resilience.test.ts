import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../consent/consent-fixture.js';
import {
  type Call,
  changeKeys,
  fillWizard,
  lines,
  type OnboardingStack,
  SIP_TRUNK,
  settled,
  startOnboardingStack,
  submit,
  type TaskView,
} from './onboarding-fixture.js';

/**
 * Production's retry policy scaled down ten times, so that an outage of the SBC is lived through in real time (the
 * storage queue's delays, the host's polling): 2 s back-off doubling to 5 minutes within a 30-minute window becomes
 * 0.2 s to 30 s within 3 minutes, and a 90 s SBC outage becomes 9 s. The old policy's budget (five attempts, 2 + 4
 * + 8 + 16 s) becomes 3 s: shorter than the outage, which the new window outlasts.
 */
const SCALE = 10;
const OUTAGE_MS = 90_000 / SCALE;
const OLD_BUDGET_MS = (2_000 + 4_000 + 8_000 + 16_000) / SCALE;

let env: OnboardingStack;
let call: Call;

beforeAll(async () => {
  env = await startOnboardingStack({
    overrides: {
      taskTiming: {
        backoffMs: 2_000 / SCALE,
        maxBackoffMs: 300_000 / SCALE,
        retryWindowMs: 1_800_000 / SCALE,
        leaseMs: 60_000 / SCALE,
        renewMs: 20_000 / SCALE,
      },
    },
  });
  call = env.call;
}, 120_000);
afterAll(async () => env?.stack.close());

describe('an SBC that drops every request for a while in the middle of onboarding', () => {
  it('makes the task wait and then finish, saying when it retries and why', async () => {
    expect(OUTAGE_MS).toBeGreaterThan(OLD_BUDGET_MS * 1.1);
    const session = await fillWizard(call, {
      shortName: 'Reboot',
      dns: { method: 'automatic', regionId: 'emea', licencePlan: 'Office 365 E5' },
      m365Routing: { configure: true },
      sbc: SIP_TRUNK,
      prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589063' }],
    });
    const faults = env.stack.sandbox.faults;
    // Every request to the SBCs, whatever the device: the socket is closed without an answer (a reboot).
    const outage = faults.add({ pathPattern: '^/sbc/', kind: 'drop' });
    let waiting: TaskView | undefined;
    let location = '';
    try {
      location = await submit(call, session);
      await waitFor(
        'the first request the SBC drops',
        async () => (outage.hits > 0 ? true : undefined),
        90_000,
      );
      const midway = (await call('GET', location)).body as TaskView;
      // In the middle: the tenant's and the zone's steps are done before the SBC is reached.
      expect(midway.steps.filter((s) => s.state === 'done').length).toBeGreaterThan(0);
      waiting = await waitFor(
        'the task to wait for its next attempt',
        async () => {
          const task = (await call('GET', location)).body as TaskView;
          return task.state === 'Queued' && task.nextAttemptAt ? task : undefined;
        },
        30_000,
      );
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      expect(((await call('GET', location)).body as TaskView).state).not.toMatch(/^Finish/);
    } finally {
      faults.remove(outage.id);
    }
    expect(waiting?.lastTransientError).toMatch(/the SBC is unreachable/);
    expect(Date.parse(waiting?.nextAttemptAt ?? '')).toBeGreaterThan(
      Date.parse(waiting?.log.at(-1)?.at ?? '') - 1,
    );
    expect(lines(waiting as TaskView).at(-1)).toMatch(
      /the SBC is unreachable .*\(retrying at \d{4}-\S+Z, attempt \d+\) --$/,
    );

    const done = await settled(call, location, 120_000);
    expect(done.state, lines(done).join('\n')).toBe('FinishSuccess');
    expect(done).toMatchObject({
      nextAttemptAt: null,
      lastTransientError: null,
      leaseUntil: null,
      leaseHolder: null,
    });
    // The old policy failed a step at its fifth attempt; this one took more and each change was made once.
    const sbcStep = done.steps.find((s) => s.attempts > 5);
    expect(sbcStep, JSON.stringify(done.steps)).toBeDefined();
    // The SBC dropped the whole of the old budget: five attempts.
    expect(outage.hits).toBeGreaterThanOrEqual(5);
    const keys = changeKeys(done);
    expect(keys.filter((k) => k.startsWith('sbc:')).length).toBeGreaterThan(0);
    expect(new Set(keys).size).toBe(keys.length);
  }, 240_000);
});
