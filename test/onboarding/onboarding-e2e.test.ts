import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Call,
  CONTOSO,
  changeKeys,
  EMEA_FQDN,
  EMEA_IP,
  expectInOrder,
  fillWizard,
  lines,
  type OnboardingStack,
  PROMPT_TASK_TIMING,
  SBC,
  SIP_TRUNK,
  settled,
  snapshot,
  startOnboardingStack,
  submit,
  type TaskView,
  ZONE,
} from './onboarding-fixture.js';

let env: OnboardingStack;
let call: Call;

beforeAll(async () => {
  env = await startOnboardingStack({ overrides: { taskTiming: PROMPT_TASK_TIMING } });
  call = env.call;
}, 120_000);
afterAll(async () => env?.stack.close());

const PREFIXES = [
  { dialPlanName: 'CustDialPlan', prefix: '+41589061[000-999]' },
  { dialPlanName: 'CustDialPlan', prefix: '+41589062' },
];

/** Each customer its own numbers: the prefixes on one SBC belong to one customer. */
const CUSTOMERS = ['Tailspin', 'Fabrikam2', 'Adatum', 'KeepMe', 'RemoveMe'];
const prefixesOf = (shortName: string) => {
  const block = CUSTOMERS.indexOf(shortName);
  return block <= 0
    ? PREFIXES
    : PREFIXES.map((p) => ({ ...p, prefix: p.prefix.replace('+41589', `+4159${block}`) }));
};

const proSite = (shortName: string) => ({
  shortName,
  dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
  m365Routing: { configure: true },
  sbc: SIP_TRUNK,
  prefixes: prefixesOf(shortName),
});

const teams = () => env.stack.sandbox.teams;
const tenant = () => env.stack.sandbox.state.requireTenant(CONTOSO.tenantId);
const zone = () => env.stack.sandbox.state.dns.requireZone(ZONE);
const record = (type: 'A' | 'TXT', name: string) => env.stack.sandbox.state.dns.recordSet(zone(), type, name);
const sbcGroups = () => env.stack.sandbox.sbc.configuration(SBC).ipGroups.map((g) => g.name);
const rulesOf = (name: string) => env.stack.sandbox.sbc.dialPlanRules(SBC).filter((r) => r.name === name);

describe('CreateCustomer for Hosted Pro with fully automatic DNS', () => {
  const gateway = `tailspin.${EMEA_FQDN}`;
  let task: TaskView;
  let planned: TaskView;

  beforeAll(async () => {
    const session = await fillWizard(call, proSite('Tailspin'));
    planned = await settled(call, await submit(call, session, true));
    task = await settled(call, await submit(call, session));
  }, 120_000);

  it('ends with the domain verified, the activation user licensed, and the customer Deployed', async () => {
    expect(task.state, JSON.stringify(task)).toBe('finish-success');
    const domain = env.stack.sandbox.state.directory.domains(tenant()).find((d) => d.id === gateway);
    expect(domain).toMatchObject({ isVerified: true });
    const user = [...tenant().users.values()].find((u) => u.userPrincipalName === `dnsactivation@${gateway}`);
    expect(user).toBeDefined();
    const licenses = env.stack.sandbox.state.directory.assignedLicenses(tenant(), user?.id ?? '');
    expect(licenses.length).toBeGreaterThan(0);
    expect((await call('GET', '/api/v1/customers/Tailspin')).body).toMatchObject({ state: 'deployed' });
  });

  it('configures the gateway, usage, route and policy exactly as the default script says', () => {
    expect(teams().get(CONTOSO.tenantId, 'OnlinePSTNGateway', gateway)).toMatchObject({
      Fqdn: gateway,
      SipSignalingPort: 5061,
      Enabled: true,
    });
    expect(teams().get(CONTOSO.tenantId, 'OnlinePstnUsages', 'Global')).toMatchObject({
      Usage: expect.arrayContaining(['Unrestricted']),
    });
    expect(teams().get(CONTOSO.tenantId, 'OnlineVoiceRoute', 'Unrestricted')).toMatchObject({
      NumberPattern: '.*',
      Priority: 1,
      OnlinePstnGatewayList: [gateway],
      OnlinePstnUsages: ['Unrestricted'],
    });
    expect(teams().get(CONTOSO.tenantId, 'OnlineVoiceRoutingPolicy', 'Tag:Unrestricted')).toMatchObject({
      OnlinePstnUsages: ['Unrestricted'],
    });
  });

  it('leaves an A record to the region SBC and no TXT record in the provider zone', () => {
    expect(record('A', 'tailspin.emea')?.records).toEqual([{ ipv4Address: EMEA_IP }]);
    expect(record('TXT', 'tailspin.emea')).toBeUndefined();
  });

  it('programs the SBC: the -c and -t IP Groups and one dial-plan rule per prefix', () => {
    expect(sbcGroups()).toEqual(expect.arrayContaining(['Tailspin-c', 'Tailspin-t']));
    expect(rulesOf('Tailspin').map((r) => [r.dialPlan, r.prefix, r.tag])).toEqual(
      PREFIXES.map((p) => [p.dialPlanName, p.prefix, gateway]),
    );
  });

  it('writes a task log that reads like the manual', () => {
    expectInOrder(task, [
      '-- CreateCustomer task started --',
      '-- CreatePstnGateway task started --',
      '-- Getting configuration... --',
      '-- Tenant Manager Configured --',
      '-- Domain created --',
    ]);
    expect(
      lines(task).some((l) => /^-- TXT Record Name: tailspin\.emea\.\S+ Value: MS=ms\d{8} --$/.test(l)),
    ).toBe(true);
    expectInOrder(task, [
      '-- CreateDomain task completed --',
      '-- ConfigurePSTN Gateway task started --',
      '-- TXT Record added to service provider DNS --',
      '-- Verifying domain [Try: 1/3]... --',
      '-- Domain verified --',
      '-- TXT Record deleted from service provider DNS --',
      '-- A Record added to service provider DNS --',
      '-- User created with OFFICE 365 E5 license--',
      '-- Verify and Configure Domain task completed --',
      'Checking SBC IP Group Programming.',
      'SBC not programmed yet.',
      'Starting SBC Programming.',
      'Sbc is programmed',
      'Site location information saved.',
      'Customer created.',
      '-- CreateCustomer task completed --',
    ]);
    const route = lines(task).find((l) => l.startsWith("New-CsOnlineVoiceRoute -Identity 'Unrestricted'"));
    expect(route).toContain("-NumberPattern '.*'");
    expect(route).toContain(gateway);
  });

  it('had a dry run that listed exactly what the real run then did, and changed nothing itself', () => {
    expect(planned.state).toBe('finish-success');
    expect(changeKeys(planned).length).toBeGreaterThan(8);
    expect(changeKeys(planned)).toEqual(changeKeys(task));
  });

  it('changes and duplicates nothing when run again, and its dry run says so', async () => {
    const before = snapshot(env.stack);
    const dry = await call('POST', '/api/v1/customers/Tailspin/sites/Tailspin/deploy', {
      json: { dryRun: true },
    });
    expect(dry.status).toBe(202);
    expect(changeKeys(await settled(call, dry.headers.get('location') ?? ''))).toEqual([]);
    const again = await call('POST', '/api/v1/customers/Tailspin/sites/Tailspin/deploy', { json: {} });
    const rerun = await settled(call, again.headers.get('location') ?? '');
    expect(rerun.state, JSON.stringify(rerun.log)).toBe('finish-success');
    expect(changeKeys(rerun)).toEqual([]);
    expect(snapshot(env.stack)).toEqual(before);
  });
});

describe('faults on the way', () => {
  it('completes through Graph verify failing twice, an ARM 429 and an SBC 409', async () => {
    const faults = env.stack.sandbox.faults;
    const verify = faults.add({
      pathPattern: '/domains/[^/]+/verify$',
      kind: 'status',
      status: 400,
      times: 2,
    });
    const arm = faults.add({
      pathPattern: '^/arm/.*/TXT/',
      method: 'PUT',
      kind: 'status',
      status: 429,
      times: 1,
      retryAfterSeconds: 0,
    });
    const sbc = faults.add({ pathPattern: '/cliScript/incremental$', kind: 'status', status: 409, times: 1 });
    try {
      const task = await settled(
        call,
        await submit(call, await fillWizard(call, proSite('Fabrikam2'))),
        90_000,
      );
      expect(task.state, lines(task).join('\n')).toBe('finish-success');
      expectInOrder(task, [
        '-- Verifying domain [Try: 1/3]... --',
        '-- Verifying domain [Try: 2/3]... --',
        '-- Verifying domain [Try: 3/3]... --',
        '-- Domain verified --',
        'Sbc is programmed',
      ]);
      expect(verify.hits).toBe(2);
      expect(arm.hits).toBe(1);
      expect(sbc.hits).toBe(1);
      expect(rulesOf('Fabrikam2')).toHaveLength(PREFIXES.length);
    } finally {
      for (const fault of [verify, arm, sbc]) faults.remove(fault.id);
    }
  }, 120_000);

  it('fails after 3 verification tries with a clear message, and a re-run resumes from that step', async () => {
    const faults = env.stack.sandbox.faults;
    const verify = faults.add({ pathPattern: '/domains/[^/]+/verify$', kind: 'status', status: 400 });
    let failed: TaskView;
    const location = await submit(call, await fillWizard(call, proSite('Adatum')));
    try {
      failed = await settled(call, location, 90_000);
    } finally {
      faults.remove(verify.id);
    }
    expect(failed.state).toBe('finish-failure');
    expect(failed.result).toMatch(/could not be verified.*3 tries/);
    expect(failed.steps.find((s) => s.name === 'VerifyDomain')).toMatchObject({
      state: 'failed',
      attempts: 3,
    });
    const rerun = await call('POST', `${location}/rerun`);
    expect(rerun.status).toBe(202);
    const done = await settled(call, location, 60_000);
    expect(done.state, lines(done).join('\n')).toBe('finish-success');
    expect(changeKeys(done).filter((c) => c.startsWith('graph: Create domain'))).toHaveLength(1);
    expect(lines(done).filter((l) => l === '-- Domain created --')).toHaveLength(1);
    expect((await call('GET', '/api/v1/customers/Adatum')).body).toMatchObject({ state: 'deployed' });
  }, 180_000);
});

describe('removal', () => {
  it('removes everything the onboarding created and nothing else', async () => {
    const first = `removeme.${EMEA_FQDN}`;
    const other = `keepme.${EMEA_FQDN}`;
    const litwareRules = rulesOf('litware').length;
    expect((await settled(call, await submit(call, await fillWizard(call, proSite('KeepMe'))))).state).toBe(
      'finish-success',
    );
    const afterKeep = snapshot(env.stack);
    expect((await settled(call, await submit(call, await fillWizard(call, proSite('RemoveMe'))))).state).toBe(
      'finish-success',
    );
    expect(teams().get(CONTOSO.tenantId, 'OnlineVoiceRoute', 'Unrestricted')).toMatchObject({
      OnlinePstnGatewayList: expect.arrayContaining([first, other]),
    });

    const dry = await call('DELETE', '/api/v1/customers/RemoveMe?dryRun=true');
    expect(dry.status).toBe(202);
    const planned = await settled(call, dry.headers.get('location') ?? '');
    expect((await call('GET', '/api/v1/customers/RemoveMe')).body).toMatchObject({ state: 'deployed' });

    const deleted = await call('DELETE', '/api/v1/customers/RemoveMe');
    expect(deleted.status).toBe(202);
    expect(deleted.body).toMatchObject({ state: 'ready-for-remove' });
    const removal = await settled(call, deleted.headers.get('location') ?? '');
    expect(removal.state, lines(removal).join('\n')).toBe('finish-success');
    expect(changeKeys(planned)).toEqual(changeKeys(removal));
    expect((await call('GET', '/api/v1/customers/RemoveMe')).status).toBe(404);

    expect(snapshot(env.stack)).toEqual(afterKeep);
    expect(sbcGroups()).not.toContain('RemoveMe-c');
    expect(rulesOf('RemoveMe')).toEqual([]);
    expect(rulesOf('litware')).toHaveLength(litwareRules);
    const route = teams().get(CONTOSO.tenantId, 'OnlineVoiceRoute', 'Unrestricted');
    expect(route?.OnlinePstnGatewayList).toContain(other);
    expect(route?.OnlinePstnGatewayList).not.toContain(first);
  }, 180_000);
});
