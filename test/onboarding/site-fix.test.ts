import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SBC } from '../../dev/sandbox/index.js';
import { DEFAULT_SCRIPTS } from '../../shared/onboarding/customer-site.js';
import {
  type Call,
  EMEA_FQDN,
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
} from './onboarding-fixture.js';

let env: OnboardingStack;
let call: Call;

beforeAll(async () => {
  env = await startOnboardingStack({ overrides: { taskTiming: PROMPT_TASK_TIMING } });
  call = env.call;
}, 120_000);
afterAll(async () => env?.stack.close());

const SITE = '/api/v1/customers/FixMe/sites/FixMe';

/** The sandbox SBC without the IP Profile that makes `name` a carrier (a carrier removed after the wizard). */
function removeCarrier(name: string): () => void {
  const running = env.stack.sandbox.sbc.devices.require(DEMO_SBC.devices.eu1.name).running;
  const removed = running.ipProfiles.filter((p) => p.name === name);
  running.ipProfiles = running.ipProfiles.filter((p) => p.name !== name);
  return () => running.ipProfiles.push(...removed);
}

async function deploy(siteUrl: string, dryRun = false): Promise<TaskView> {
  const response = await call('POST', `${siteUrl}/deploy`, { json: { dryRun } });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return settled(call, response.headers.get('location') ?? '');
}

const failedStep = (task: TaskView) => task.steps.find((s) => s.state === 'failed')?.name;
const ran = (task: TaskView) => task.steps.filter((s) => s.state !== 'pending').map((s) => s.name);

describe('a site whose SBC changed after the wizard', () => {
  it('fails at ProgramSbc, then is fixed by PATCH and a re-deploy that uses the new values', async () => {
    const gateway = `fixme.${EMEA_FQDN}`;
    const location = await submit(
      call,
      await fillWizard(call, {
        shortName: 'FixMe',
        dns: { method: 'two-step', regionId: 'emea' },
        m365Routing: { configure: true },
        sbc: { ...SIP_TRUNK, carrier: 'Carrier2' },
        prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+4420790001' }],
      }),
    );
    const paused = await settled(call, location);
    expect(paused.state).toBe('paused');
    // While the task waits for the TXT record, someone removes Carrier2 from the SBC.
    const restore = removeCarrier('Carrier2');
    try {
      const txt = /Value: (MS=ms\d{8})/.exec(lines(paused).join('\n'))?.[1] ?? '';
      env.stack.sandbox.state.dns.setExternalTxt(gateway, [txt]);
      expect((await call('POST', `${SITE}/verify-domain`)).status).toBe(202);
      const failed = await settled(call, location);
      expect(failed.state, lines(failed).join('\n')).toBe('finish-failure');
      expect(failedStep(failed)).toBe('ProgramSbc');
      expect(failed.result).toContain('Carrier2');

      // The check that runs first says what is wrong, in a dry run too, before any other step.
      const dryRun = await deploy(SITE, true);
      expect(dryRun.state).toBe('finish-failure');
      expect(failedStep(dryRun)).toBe('ValidateSite');
      expect(dryRun.result).toContain('"Carrier2" is not a carrier on sbc-eu1; its carriers: Carrier1.');
      expect(dryRun.result).toContain(`PATCH ${SITE}`);

      const read = await call('GET', SITE);
      const etag = read.headers.get('etag') ?? '';
      expect(etag).not.toBe('');
      const wrong = await call('PATCH', SITE, {
        json: { sbc: { carrier: 'Carrier2' } },
        headers: { 'if-match': etag },
      });
      expect(wrong.status).toBe(400);
      expect(wrong.problem.errors?.[0]).toMatchObject({
        field: 'sbc.carrier',
        code: 'unknown_carrier',
        allowed: ['Carrier1'],
      });
      const fixed = await call('PATCH', SITE, {
        json: { sbc: { carrier: 'Carrier1', cacProfile: '5 sessions' } },
        headers: { 'if-match': etag },
      });
      expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
      expect(fixed.body).toMatchObject({ sbc: { carrier: 'Carrier1', cacProfile: '5 sessions' } });
      expect(fixed.headers.get('etag')).not.toBe(etag);
      // The version read before the fix is stale now; without If-Match the last writer wins.
      const stale = await call('PATCH', SITE, {
        json: { sbc: { cacProfile: '1 session' } },
        headers: { 'if-match': etag },
      });
      expect(stale.status).toBe(412);
      const blind = await call('PATCH', SITE, { json: { sbc: { cacProfile: '10 sessions' } } });
      expect(blind.status).toBe(200);

      const redeployed = await deploy(SITE);
      expect(redeployed.state, lines(redeployed).join('\n')).toBe('finish-success');
      const groups = env.stack.sandbox.sbc.configuration(SBC).ipGroups;
      expect(groups.find((g) => g.name === 'FixMe-c')).toMatchObject({ proxySetName: 'Carrier1' });
      expect(groups.find((g) => g.name === 'FixMe-t')).toMatchObject({ cacProfile: '10 sessions' });
      expect((await call('GET', '/api/v1/customers/FixMe')).body).toMatchObject({ state: 'deployed' });

      const late = await call('PATCH', SITE, { json: { sbc: { cacProfile: '1 session' } } });
      expect(late.problem).toMatchObject({ status: 409, code: 'site_deployed' });
    } finally {
      restore();
    }
  }, 180_000);

  it('fails a new site at ValidateSite, before its domain, DNS record, user or gateway exist', async () => {
    const customer = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Fresh Ltd', shortName: 'Fresh', licenseType: 'hosted-pro', licensedUsers: 5 },
    });
    expect(customer.status).toBe(201);
    const at = new Date().toISOString();
    // Stored as a site saved before its SBC lost the carrier would be.
    await env.stack.services.sites.create({
      customerId: 'Fresh',
      siteName: 'Fresh',
      gatewayFqdn: `fresh.${EMEA_FQDN}`,
      dns: { method: 'automatic', regionId: 'emea', licensePlan: null },
      m365Routing: {
        onboardingTemplateId: DEFAULT_SCRIPTS.m365Onboarding,
        cleanupTemplateId: DEFAULT_SCRIPTS.m365Cleanup,
        customVariables: {},
      },
      sbc: {
        configuration: 'sip-trunk',
        regionId: 'emea',
        carrier: 'Carrier1',
        carrierRegistration: null,
        cacProfile: null,
        onboardingTemplateId: DEFAULT_SCRIPTS.sbcOnboarding,
        cleanupTemplateId: DEFAULT_SCRIPTS.sbcCleanup,
        customVariables: {},
      },
      prefixes: [{ dialPlanName: 'NoSuchPlan', prefix: '+4420790002', tag: '' }],
      gatewayCreated: false,
      createdAt: at,
      updatedAt: at,
    });
    const restore = removeCarrier('Carrier1');
    try {
      const before = snapshot(env.stack);
      const task = await deploy('/api/v1/customers/Fresh/sites/Fresh');
      expect(task.state).toBe('finish-failure');
      expect(failedStep(task)).toBe('ValidateSite');
      expect(ran(task)).toEqual(['Start', 'ValidateSite']);
      expect(task.result).toContain('"Carrier1" is not a carrier on sbc-eu1');
      expect(task.result).toContain('"NoSuchPlan" is not a dial plan on sbc-eu1');
      expect(snapshot(env.stack)).toEqual(before);
    } finally {
      restore();
    }
  }, 120_000);
});
