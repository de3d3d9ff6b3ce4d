import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOnboardingSettings } from '../../dev/demo-seed.js';
import { sandboxProfile } from '../../dev/sandbox/profile.js';
import { REAL_DOMAIN_ACTIVATION_MS } from '../../dev/sandbox/teams-reality.js';
import { ACTIVATION_MAX_WAIT_MS } from '../../shared/onboarding/tasks/domain-activation.js';
import { configureProvider, waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import {
  CONTOSO,
  expectInOrder,
  fillWizard,
  lines,
  PROMPT_TASK_TIMING,
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
/** How far the tasks' clock is ahead of the real one: a day passes for them without anyone waiting it. */
let clockAheadMs = 0;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({
    sandbox: { profile: sandboxProfile('reality', SCALE) },
    settings: { onboarding: { verifyRetrySeconds: 1, activationPollSeconds: 1, skipIpGroupCheck: false } },
    overrides: { taskClock: () => new Date(Date.now() + clockAheadMs), taskTiming: PROMPT_TASK_TIMING },
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
    await expectWaitingForActivation(location, fqdn);

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
    await expectWaitingForActivation(location, fqdn);

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
    // The change list: the two rules the device took as applied, the refused one as refused, at each run.
    const refusedChange = `Refused by the SBC: ${refusal.trim()}`;
    expect(retried.changes.slice(0, 3).map((c) => c.description)).toEqual([
      `Add 2 rule(s) to CustDialPlan: ${['+41589081', '+41589082']
        .map((prefix) => `${prefix} of Dialplan → ${gateway}`)
        .join(', ')}`,
      refusedChange,
      refusedChange,
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

/**
 * Takes the license of the domain's activation user away as soon as onboarding gives it one, before the sandbox's
 * activation delay has passed: Teams then never activates the domain.
 */
async function strandActivation(fqdn: string): Promise<void> {
  const tenant = stack.sandbox.state.requireTenant(CONTOSO.tenantId);
  const { directory } = stack.sandbox.state;
  const upn = `dnsactivation@${fqdn}`;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const user = [...tenant.users.values()].find((u) => u.userPrincipalName.toLowerCase() === upn);
    const licenses = user ? directory.assignedLicenses(tenant, user.id) : [];
    if (user && licenses.length > 0) {
      directory.assignLicense(
        tenant,
        user.id,
        [],
        licenses.map((l) => l.skuId),
      );
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`No licensed ${upn} appeared.`);
}

/** Waits until the task is queued for the domain's activation, saying which activation user it waits on. */
async function expectWaitingForActivation(location: string, fqdn: string): Promise<void> {
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
}

/** Waits until the task has looked at the gateway `tries` times, then returns it. */
async function looked(location: string, tries: number): Promise<TaskView> {
  return waitFor(
    `try ${tries} of the activation wait`,
    async () => {
      const task = (await call('GET', location)).body as TaskView;
      return lines(task).some((l) => l.startsWith(`-- Waiting for domain activation [Try: ${tries}]`))
        ? task
        : undefined;
    },
    30_000,
  );
}

// Last in the file: the tasks' clock stays a day ahead (or more) for whatever runs after.
describe('a domain Teams never activates', () => {
  const onboard = async (shortName: string, prefix: string, m365Routing: Record<string, unknown>) => {
    const fqdn = `${shortName.toLowerCase()}.emea.${ZONE}`;
    const location = await submit(
      call,
      await fillWizard(call, {
        shortName,
        dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
        m365Routing,
        sbc: SIP_TRUNK,
        prefixes: [{ dialPlanName: 'CustDialPlan', prefix }],
      }),
    );
    await strandActivation(fqdn);
    return { fqdn, location };
  };

  /** Keeps waiting for the day (a second look says so), then fails naming the user and license to check. */
  async function givesUpAfterADay(fqdn: string, location: string): Promise<TaskView> {
    const waiting = await looked(location, 2);
    expect(waiting.state).toBe('queued');
    clockAheadMs += ACTIVATION_MAX_WAIT_MS;
    const failed = await settled(call, location);
    expect(failed.state, lines(failed).join('\n')).toBe('finish-failure');
    expect(failed.result).toContain(`Teams has not activated the domain ${fqdn} after 24 hours`);
    expect(failed.result).toContain(
      `Check that the user dnsactivation@${fqdn} exists with a Phone System license`,
    );
    return failed;
  }

  it('keeps CreatePstnGateway waiting for 24 hours, then fails saying what to check; a Deploy waits again', async () => {
    const { fqdn, location } = await onboard('Never', '+41589075', { configure: true });
    const failed = await givesUpAfterADay(fqdn, location);
    expect(failed.steps.find((s) => s.state === 'failed')?.name).toBe('CreatePstnGateway');

    // The operator deletes the unlicensed user, as the message leads them to; the Deploy creates and licenses a
    // new one, waits again for the activation that follows, and creates the gateway.
    const tenant = stack.sandbox.state.requireTenant(CONTOSO.tenantId);
    const stranded = [...tenant.users.values()].find((u) => u.userPrincipalName === `dnsactivation@${fqdn}`);
    if (!stranded) throw new Error('The activation user is gone.');
    tenant.users.delete(stranded.id);
    stack.sandbox.state.directory.softDeleteUser(tenant, stranded);
    stack.sandbox.state.directory.purgeDeletedUser(tenant, stranded.id);
    const deploy = await call('POST', '/api/v1/customers/Never/sites/Never/deploy', {
      json: { dryRun: false },
    });
    expect(deploy.status, JSON.stringify(deploy.body)).toBe(202);
    const redeployed = await settled(call, deploy.headers.get('location') ?? '');
    expect(redeployed.state, lines(redeployed).join('\n')).toBe('finish-success');
    expectInOrder(redeployed, [
      `-- Waiting for domain activation [Try: 1]: Teams does not accept ${fqdn} yet; next look in 1 seconds --`,
      `-- Domain ${fqdn} activated --`,
      `-- PSTN Gateway ${fqdn} created --`,
    ]);
  });

  it('gives an LBR onboarding script that creates the gateway itself the same 24 hours', async () => {
    // The Custom Networks variant: the plain LBR script's example subnet belongs to the Lbr customer's site already.
    const { fqdn, location } = await onboard('Neverlbr', '+41589076', {
      configure: true,
      onboardingTemplateId: 'm365-lbr-custom-networks-onboarding',
      customVariables: {
        'IP-Network': '198.51.100.0',
        'IP-SubnetBits': '24',
        'Trusted-IP-Network': '198.51.100.1',
        'Trusted-IP-SubnetBits': '32',
      },
    });
    const failed = await givesUpAfterADay(fqdn, location);
    expect(failed.steps.find((s) => s.state === 'failed')?.name).toBe('ConfigureM365Routing');
  });
});
