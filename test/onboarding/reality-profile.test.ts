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

describe('an LBR onboarding script that creates the gateway itself', () => {
  it('waits for the activation as CreatePstnGateway does, then runs the script again without doubling anything', async () => {
    const location = await submit(
      call,
      await fillWizard(call, {
        shortName: 'Lbr',
        dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
        m365Routing: { configure: true, onboardingTemplateId: 'm365-lbr-onboarding' },
        sbc: SIP_TRUNK,
        prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589074' }],
      }),
    );
    const fqdn = `lbr.emea.${ZONE}`;
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
    const region = "New-CsTenantNetworkRegion -NetworkRegionID 'India'";
    expectInOrder(task, [
      '-- M365 onboarding script m365-lbr-onboarding started --',
      region,
      `-- Waiting for domain activation [Try: 1]: Teams does not accept ${fqdn} yet; next look in 1 seconds --`,
      '-- M365 onboarding script m365-lbr-onboarding started --',
      `${region}  # already configured`,
      `-- Domain ${fqdn} activated --`,
      '-- M365 onboarding script completed --',
      'Customer created.',
    ]);
    expect(
      stack.sandbox.teams
        .list(CONTOSO.tenantId, 'OnlinePSTNGateway')
        .filter((g) => g.Identity.toLowerCase() === fqdn),
    ).toHaveLength(1);
    // Each command is recorded once, however many times the script ran.
    const descriptions = task.changes.map((c) => c.description);
    expect(descriptions.filter((d) => d.startsWith('New-CsOnlinePSTNGateway'))).toHaveLength(1);
    expect(new Set(descriptions).size).toBe(descriptions.length);
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

describe('an SBC that refuses some of the dial-plan rules a sync adds', () => {
  it('lists the refused rule, keeps the others, and sends only the refused one again until the SBC takes it', async () => {
    const gateway = `dialplan.emea.${ZONE}`;
    const onboarded = await settled(
      call,
      await submit(
        call,
        await fillWizard(call, {
          shortName: 'Dialplan',
          sbc: { ...SIP_TRUNK, onlinePstnGateway: gateway },
          prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589080' }],
        }),
      ),
    );
    expect(onboarded.state, lines(onboarded).join('\n')).toBe('finish-success');
    const device = stack.sandbox.sbc.devices.require(SBC);
    const rulesOf = () =>
      stack.sandbox.sbc
        .dialPlanRules(SBC)
        .filter((r) => r.name === 'Dialplan')
        .map((r) => r.prefix)
        .sort();
    // Room for two more rules: the third of the sync's adds finds the device's rule table full.
    device.maxDialPlanRules = stack.sandbox.sbc.dialPlanRules(SBC).length + 2;
    const saved = await call('PUT', '/api/v1/customers/Dialplan/sites/Dialplan/prefixes', {
      json: {
        prefixes: ['+41589080', '+41589081', '+41589082', '+41589083'].map((prefix) => ({
          dialPlanName: 'CustDialPlan',
          prefix,
        })),
      },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(202);
    const location = saved.headers.get('location') ?? '';
    const resend = `Add 1 rule(s) to CustDialPlan: +41589083 of Dialplan → ${gateway}`;
    const refusal = `  add +41589083 of Dialplan → ${gateway} to CustDialPlan: The Dial Plan Rule table is full (${device.maxDialPlanRules} rules).`;
    // The first run adds three and the device refuses the last; the retry reads the device and sends that one only.
    const retried = await waitFor(
      'the refused rule sent again',
      async () => {
        const task = (await call('GET', location)).body as TaskView;
        if (lines(task).filter((l) => l === refusal).length >= 2) return task;
        // The retry runs now rather than after its back-off.
        if (task.state === 'queued') await stack.services.taskEngine.processAll('Dialplan');
        return undefined;
      },
      30_000,
    );
    expect(retried.state, lines(retried).join('\n')).not.toMatch(/^finish/);
    expect(retried.changes.slice(0, 2).map((c) => c.description)).toEqual([
      `Add 3 rule(s) to CustDialPlan: ${['+41589081', '+41589082', '+41589083']
        .map((prefix) => `${prefix} of Dialplan → ${gateway}`)
        .join(', ')}`,
      resend,
    ]);
    expectInOrder(retried, [
      `SBC ${SBC}: 2 prefix(es) added, 0 removed, 1 unchanged, 1 refused.`,
      `SBC ${SBC} refused 1 rule change(s):`,
      refusal,
      resend,
      `SBC ${SBC}: 0 prefix(es) added, 0 removed, 3 unchanged, 1 refused.`,
      refusal,
    ]);
    expect((retried as TaskView & { lastTransientError: string | null }).lastTransientError).toContain(
      'The SBC refused 1 rule change(s)',
    );
    expect(rulesOf()).toEqual(['+41589080', '+41589081', '+41589082']);

    device.maxDialPlanRules = null;
    // Fixed: the operator runs the queued retry now instead of waiting for its back-off.
    await stack.services.taskEngine.processAll('Dialplan');
    const task = await settled(call, location);
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    expect(lines(task).at(-2)).toBe(`SBC ${SBC}: 1 prefix(es) added, 0 removed, 3 unchanged.`);
    expect(rulesOf()).toEqual(['+41589080', '+41589081', '+41589082', '+41589083']);
  });
});
