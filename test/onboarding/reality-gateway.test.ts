import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { sandboxProfile } from '../../dev/sandbox/profile.js';
import { REAL_DOMAIN_ACTIVATION_MS } from '../../dev/sandbox/teams-reality.js';
import { configureProvider, waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import {
  CONTOSO,
  expectInOrder,
  fillWizard,
  lines,
  SIP_TRUNK,
  settled,
  submit,
  type TaskView,
  ZONE,
} from './onboarding-fixture.js';

/**
 * Issue 15: under the reality profile Teams refuses the gateway of a freshly verified domain until the domain is
 * activated (minutes after its licensed user exists). The 15-minute activation is played in 1.5 s and the task
 * looks again every second.
 */
const SCALE = 1_500 / REAL_DOMAIN_ACTIVATION_MS;

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({
    sandbox: { profile: sandboxProfile('reality', SCALE) },
    settings: { onboarding: { verifyRetrySeconds: 1, activationPollSeconds: 1, skipIpGroupCheck: false } },
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  await configureProvider(stack, call);
  await seedOnboardingSettings({
    apiBaseUrl: `${stack.api.url}/api/v1`,
    token,
    smtp: stack.sandbox.smtp,
    fetch: stack.api.fetch,
  });
}, 120_000);
afterAll(async () => stack?.close());

describe('a gateway whose domain Teams has not activated yet', () => {
  it('makes the onboarding wait and look again, then create the gateway once Teams accepts it', async () => {
    const location = await submit(
      call,
      await fillWizard(call, {
        shortName: 'Activate',
        dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
        m365Routing: { configure: true },
        sbc: SIP_TRUNK,
        prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589071' }],
      }),
    );
    const fqdn = `activate.emea.${ZONE}`;
    // Meanwhile the task is queued, not failed, and says what it waits for.
    const waiting = await waitFor(
      'the task waiting for the activation',
      async () => {
        const task = (await call('GET', location)).body as TaskView;
        return task.waiting?.reason.includes('has not activated') ? task : undefined;
      },
      30_000,
    );
    expect(waiting.state).toBe('queued');
    expect(waiting.waiting?.reason).toContain(`dnsactivation@${fqdn}`);

    const task = await settled(call, location);
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expectInOrder(task, [
      '-- User created with OFFICE 365 E5 license--',
      `-- Waiting for domain activation [Try: 1]: Teams does not accept ${fqdn} yet; next look in 1 seconds --`,
      `-- Domain ${fqdn} activated --`,
      `-- PSTN Gateway ${fqdn} created --`,
      '-- Verify and Configure Domain task completed --',
      'Customer created.',
    ]);
    const gateways = stack.sandbox.teams
      .list(CONTOSO.tenantId, 'OnlinePSTNGateway')
      .filter((g) => g.Identity.toLowerCase() === fqdn);
    expect(gateways).toHaveLength(1);
    // The gateway is recorded once, however many times the step looked.
    expect(task.changes.filter((c) => c.description.startsWith('New-CsOnlinePSTNGateway'))).toHaveLength(1);
  });
});
