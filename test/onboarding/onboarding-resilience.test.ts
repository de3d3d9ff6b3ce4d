import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../functions/app.js';
import type { Queues } from '../../shared/storage/json-queue.js';
import { storageQueues } from '../../shared/storage/json-queue.js';
import type { Repeater, TaskMessage } from '../../shared/tasks/task-engine.js';
import { apiClient } from '../support/api-client.js';
import { waitFor } from '../consent/consent-fixture.js';
import {
  type Call,
  SBC,
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

const TIMING = {
  backoffMs: 2_000 / SCALE,
  maxBackoffMs: 300_000 / SCALE,
  retryWindowMs: 1_800_000 / SCALE,
  leaseMs: 60_000 / SCALE,
  renewMs: 20_000 / SCALE,
};

let env: OnboardingStack;
let call: Call;

beforeAll(async () => {
  env = await startOnboardingStack({ overrides: { taskTiming: TIMING, taskInstanceId: 'host-b' } });
  call = env.call;
}, 120_000);
afterAll(async () => env?.stack.close());

describe('an SBC that drops every request for a while in the middle of onboarding', () => {
  it('makes the task wait and then finish, saying when it retries and why', async () => {
    expect(OUTAGE_MS).toBeGreaterThan(OLD_BUDGET_MS * 1.1);
    const session = await fillWizard(call, {
      shortName: 'Reboot',
      dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
      m365Routing: { configure: true },
      sbc: SIP_TRUNK,
      prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589063' }],
    });
    const faults = env.stack.sandbox.faults;
    // Submit and the task's first check (ValidateSite) read the SBC while it answers; then it reboots.
    const location = await submit(call, session);
    await waitFor(
      'the site checked against the SBC',
      async () => {
        const task = (await call('GET', location)).body as TaskView;
        return task.steps.find((s) => s.name === 'ValidateSite')?.state === 'done' ? true : undefined;
      },
      30_000,
    );
    // Every request to the SBCs, whatever the device: the socket is closed without an answer (a reboot).
    const outage = faults.add({ pathPattern: '^/sbc/', kind: 'drop' });
    let waiting: TaskView | undefined;
    try {
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
          return task.state === 'queued' && task.nextAttemptAt ? task : undefined;
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
    expect(done.state, lines(done).join('\n')).toBe('finish-success');
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

describe('a host killed in the middle of a step', () => {
  it('lets another host take the task over soon after its lease ends, and applies the step once', async () => {
    const operator = 'takeover-operator';
    const token = await env.stack.token({ subject: operator });
    const asOperator = apiClient(env.stack.apiUrl, async () => token);
    const session = await fillWizard(asOperator, {
      shortName: 'Takeover',
      dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
      m365Routing: { configure: true },
      sbc: SIP_TRUNK,
      prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589064' }],
    });

    // Host A: the same product over the same storage and peers, but no queue listener. Its heartbeat can be
    // stopped, and the task's first message is kept from host B so that A is the one that starts it; the watch
    // A sends for its lease's end reaches host B as it would in Azure.
    let alive = true;
    const heartbeat: Repeater = (tick, ms) => {
      const timer = setInterval(() => alive && tick(), ms);
      return () => clearInterval(timer);
    };
    const shared = storageQueues(env.stack.services.storage);
    const watchesOnly: Queues = {
      queue: <T>(name: string) => {
        const queue = shared.queue<T>(name);
        return {
          send: async (message: T, options?: { readonly delayMs?: number }) => {
            if ((message as Partial<TaskMessage>).watch !== undefined) await queue.send(message, options);
          },
        };
      },
    };
    const hostA = createApp(env.stack.services.settings, {
      taskTiming: TIMING,
      taskHeartbeat: heartbeat,
      taskInstanceId: 'host-a',
      queues: watchesOnly,
    });
    // Host A is killed while the SBC has its script: the request hangs, then its socket closes unanswered, so the
    // script never reaches the device (and host A's run, were it still alive, would find its lease gone).
    const faults = env.stack.sandbox.faults;
    const hang = faults.add({
      pathPattern: '/cliScript/incremental$',
      kind: 'latency',
      latencyMs: 15_000,
      times: 1,
    });
    const cut = faults.add({ pathPattern: '/cliScript/incremental$', kind: 'drop', times: 1 });
    try {
      const task = await hostA.services.onboarding.submit(session, operator, { dryRun: false });
      const location = `/api/v1/tasks/${task.id}`;
      const runA = hostA.services.taskEngine.process(task.id);
      await waitFor(
        'host A to reach the SBC',
        async () => {
          if (hang.hits > 0) return true;
          const view = (await call('GET', location)).body as TaskView;
          if (/^Finish|Paused/.test(view.state)) throw new Error(`Host A's run: ${JSON.stringify(view)}`);
          return undefined;
        },
        60_000,
      );
      const held = (await call('GET', location)).body as TaskView;
      expect(held).toMatchObject({ state: 'executing', leaseHolder: 'host-a' });
      alive = false;
      const killedAt = Date.now();

      const takenOver = await waitFor(
        'host B to take the task over',
        async () => {
          const view = (await call('GET', location)).body as TaskView;
          return view.leaseHolder === 'host-b' || view.state === 'finish-success' ? view : undefined;
        },
        90_000,
      );
      const after = Date.now() - killedAt;
      // The lease (6 s here, 60 s in production) from A's last renewal, a second's grace and the queue's polling.
      expect(after).toBeLessThan(TIMING.leaseMs + 5_000);
      expect(takenOver.state).not.toBe('finish-failure');

      const done = await settled(call, location, 90_000);
      expect(done.state, lines(done).join('\n')).toBe('finish-success');
      expect(done).toMatchObject({ leaseHolder: null, leaseUntil: null });
      const keys = changeKeys(done);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.filter((k) => k.startsWith('sbc:')).length).toBeGreaterThan(0);
      // Applied once on the SBC: the customer's IP groups, each once; host A's script never arrived.
      const groups = () =>
        env.stack.sandbox.sbc
          .configuration(SBC)
          .ipGroups.map((g) => g.name)
          .filter((name) => name.startsWith('Takeover'));
      const programmed = groups();
      expect(programmed.length).toBeGreaterThan(0);
      expect(new Set(programmed).size).toBe(programmed.length);
      // Host A, frozen rather than dead, wakes: its lease has gone, it stops without a change or an error.
      await expect(runA).resolves.toBeUndefined();
      expect(groups()).toEqual(programmed);
    } finally {
      faults.remove(hang.id);
      faults.remove(cut.id);
      await hostA.close();
    }
  }, 240_000);
});
