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
  SBC,
  ZONE,
} from './onboarding-fixture.js';

/**
 * Issue 15: the onboarding against the sandbox's reality profile. Teams refuses the gateway of a freshly verified domain until the domain is
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

describe('an SBC that applies the onboarding script only in part', () => {
  it('records the refused commands, removes what did apply and sends the script again until it applies whole', async () => {
    const device = stack.sandbox.sbc.devices.require(SBC);
    const teamsProfile = device.running.ipProfiles.find((p) => p.name === 'Teams');
    expect(teamsProfile).toBeDefined();
    // The Teams leg's IP Profile is missing: the device takes every line of the script but that one.
    device.running.ipProfiles = device.running.ipProfiles.filter((p) => p !== teamsProfile);
    const location = await submit(
      call,
      await fillWizard(call, {
        shortName: 'Partial',
        sbc: { ...SIP_TRUNK, onlinePstnGateway: `partial.emea.${ZONE}` },
        prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589072' }],
      }),
    );
    const refused = await waitFor(
      'the partial application recorded',
      async () => {
        const task = (await call('GET', location)).body as TaskView;
        return lines(task).some((l) => l.startsWith('SBC refused')) ? task : undefined;
      },
      30_000,
    );
    expect(refused.state, lines(refused).join('\n')).not.toMatch(/^finish/);
    expect(lines(refused)).toContain(`  ip-profile-name "Teams": IP Profile 'Teams' does not exist.`);
    // Rolled back: the half-made customer is not on the SBC while the task waits to try again.
    expect(stack.sandbox.sbc.configuration(SBC).ipGroups.map((g) => g.name)).not.toContain('Partial-t');

    device.running.ipProfiles = [...device.running.ipProfiles, teamsProfile!];
    const task = await settled(call, location);
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expectInOrder(task, [
      'Starting SBC Programming.',
      'SBC refused 1 command(s) of the onboarding script:',
      'What did apply was removed with the cleanup script; the onboarding script is sent again.',
      'Starting SBC Programming.',
      'Sbc is programmed',
    ]);
    const groups = stack.sandbox.sbc.configuration(SBC).ipGroups.filter((g) => g.name.startsWith('Partial-'));
    expect(groups.map((g) => [g.name, g.ipProfileName])).toEqual([
      ['Partial-c', SIP_TRUNK.carrier],
      ['Partial-t', 'Teams'],
    ]);
  });
});
