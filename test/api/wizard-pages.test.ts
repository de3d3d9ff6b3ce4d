import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, DEMO_SBC } from '../../dev/sandbox/index.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers();
  call = apiClient(stack.api, () => stack.token());
  // The sandbox's sbc-eu1 answers: its carriers, CAC profiles and dial plans are what the pages are checked against.
  const device = DEMO_SBC.devices.eu1;
  const sbc = await call('POST', '/api/v1/settings/sbcs', {
    json: {
      name: device.name,
      ipAddress: device.ipAddress,
      gatewayUser: device.username,
      gatewayPassword: device.password,
    },
  });
  expect(sbc.status).toBe(201);
  const region = await call('POST', '/api/v1/settings/regions', {
    json: { name: 'EMEA', sbcId: 'sbc-eu1', fqdn: 'ea.voice.provider.example', ipAddress: device.ipAddress },
  });
  expect(region.status).toBe(201);
});
afterAll(() => stack?.close());

async function essentialsSession(shortName: string): Promise<string> {
  const opened = await call('POST', '/api/v1/wizard-sessions');
  const id = (opened.body as { id: string }).id;
  await call('PUT', `/api/v1/wizard-sessions/${id}/customer`, {
    json: { fullName: shortName, shortName, licenseType: 'hosted-essentials' },
  });
  return id;
}

describe('the SBC page', () => {
  it('offers Essentials SIP Trunk and BYOC only, needs a Region always and a Carrier for SIP Trunk', async () => {
    const id = await essentialsSession('EssTrunk');
    const ipPbx = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: { configureSbc: true, sbcConfiguration: 'ip-pbx', regionId: 'emea' },
    });
    expect(ipPbx.problem.errors?.[0]).toMatchObject({ field: 'sbcConfiguration', code: 'not_offered' });
    const missing = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: { configureSbc: true, sbcConfiguration: 'sip-trunk' },
    });
    expect(new Set(missing.problem.errors?.map((e) => e.field))).toEqual(new Set(['regionId', 'carrier']));
    const unknownRegion = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: { configureSbc: true, sbcConfiguration: 'sip-trunk', regionId: 'apac', carrier: 'Carrier1' },
    });
    expect(unknownRegion.problem.errors?.[0]).toMatchObject({ field: 'regionId', code: 'unknown_region' });

    const password = 'Carrier-Secret-1';
    const saved = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: {
        configureSbc: true,
        sbcConfiguration: 'sip-trunk',
        regionId: 'emea',
        carrier: 'Carrier1',
        carrierRegistration: {
          username: 'trunk',
          password,
          mainLine: '+3222000000',
          hostName: 'sip.carrier.example',
        },
      },
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({
      pages: {
        sbc: {
          sbcSiteName: 'EssTrunk',
          sbcConfiguration: 'sip-trunk',
          carrierRegistration: { username: 'trunk', passwordSaved: true },
        },
      },
    });
    expect(JSON.stringify(saved.body)).not.toContain(password);
  });

  it('refuses M365 pages for Hosted Essentials, which has no Microsoft 365 side', async () => {
    const id = await essentialsSession('EssNoM365');
    const dns = await call('PUT', `/api/v1/wizard-sessions/${id}/dns`, {
      json: { method: 'automatic', regionId: 'emea' },
    });
    expect(dns.problem).toMatchObject({ status: 409, code: 'no_m365_for_essentials' });
  });
});

describe('the prefixes page', () => {
  it('takes typed prefixes or a CSV, and refuses a CSV with a bad line whole', async () => {
    const id = await essentialsSession('Prefixes');
    const typed = await call('PUT', `/api/v1/wizard-sessions/${id}/prefixes`, {
      json: { prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+9723976400' }] },
    });
    expect((typed.body as { pages: { prefixes: unknown[] } }).pages.prefixes).toEqual([
      { dialPlanName: 'CustDialPlan', prefix: '+9723976400', tag: '' },
    ]);
    const bad = await call('PUT', `/api/v1/wizard-sessions/${id}/prefixes`, {
      json: { csv: 'dialPlanName,prefix,tag\nCustDialPlan,+6138884445,\nCustDialPlan,+1x,\n' },
    });
    expect(bad.status).toBe(400);
    expect(bad.problem.errors?.[0]?.message).toMatch(/^Line 3: /);
    const session = await call('GET', `/api/v1/wizard-sessions/${id}`);
    expect((session.body as { pages: { prefixes: unknown[] } }).pages.prefixes).toHaveLength(1);

    const many = [
      'dialPlanName,prefix,tag',
      ...Array.from({ length: 3000 }, (_, i) => `CustDialPlan,+3222${String(i).padStart(6, '0')},`),
    ];
    const big = await call('PUT', `/api/v1/wizard-sessions/${id}/prefixes`, {
      json: { csv: many.join('\n') },
    });
    expect(big.status).toBe(200);
    const reread = await call('GET', `/api/v1/wizard-sessions/${id}`);
    expect((reread.body as { pages: { prefixes: unknown[] } }).pages.prefixes).toHaveLength(3000);
  });
});

describe('the DNS page', () => {
  it('wants a connected tenant, a known region and an eligible license plan', async () => {
    const opened = await call('POST', '/api/v1/wizard-sessions');
    const id = (opened.body as { id: string }).id;
    await call('PUT', `/api/v1/wizard-sessions/${id}/customer`, {
      json: { fullName: 'Pro', shortName: 'ProDns', licenseType: 'hosted-pro', licensedUsers: 5 },
    });
    const early = await call('PUT', `/api/v1/wizard-sessions/${id}/dns`, {
      json: { method: 'automatic', regionId: 'emea' },
    });
    expect(early.problem.code).toBe('wizard_step_missing');

    const app = stack.sandbox.state.addApplication({
      displayName: 'ProDns app',
      homeTenantId: DEMO.customers.fabrikam.tenantId,
    });
    const secret = stack.sandbox.state.addSecret(app.appId);
    stack.sandbox.state.consent(DEMO.customers.fabrikam.tenantId, app.appId, {
      'https://graph.microsoft.com': DEMO.appRegistrationGraphRoles,
    });
    const connected = await call('POST', `/api/v1/wizard-sessions/${id}/connection`, {
      json: {
        method: 'app-registration',
        tenantId: DEMO.customers.fabrikam.tenantId,
        clientId: app.appId,
        clientSecret: secret.secretText,
      },
    });
    expect(connected.status).toBe(200);
    const noPlan = await call('PUT', `/api/v1/wizard-sessions/${id}/dns`, {
      json: { method: 'automatic', regionId: 'emea', licensePlan: 'Free Plan' },
    });
    expect(noPlan.problem.errors?.[0]).toMatchObject({ field: 'licensePlan', code: 'unknown_license_plan' });
    const manualWithout = await call('PUT', `/api/v1/wizard-sessions/${id}/dns`, {
      json: { method: 'manual' },
    });
    expect(manualWithout.problem.errors?.[0]).toMatchObject({ field: 'onlinePstnGateway' });
    const saved = await call('PUT', `/api/v1/wizard-sessions/${id}/dns`, {
      json: { method: 'two-step', regionId: 'emea', licensePlan: 'Office 365 E5' },
    });
    expect(saved.body).toMatchObject({ pages: { dns: { method: 'two-step', regionId: 'emea' } } });
  });
});

/** The sandbox SBC without the IP Profile that makes `name` a carrier, for as long as `run` runs. */
async function withoutCarrier<T>(name: string, run: () => Promise<T>): Promise<T> {
  const running = stack.sandbox.sbc.devices.require(DEMO_SBC.devices.eu1.name).running;
  const removed = running.ipProfiles.filter((p) => p.name === name);
  running.ipProfiles = running.ipProfiles.filter((p) => p.name !== name);
  try {
    return await run();
  } finally {
    running.ipProfiles.push(...removed);
  }
}

const trunk = (extra: Record<string, unknown> = {}) => ({
  configureSbc: true,
  sbcConfiguration: 'sip-trunk',
  regionId: 'emea',
  carrier: 'Carrier1',
  onlinePstnGateway: 'trunk.ea.voice.provider.example',
  ...extra,
});

describe("the SBC's own configuration", () => {
  it('refuses a carrier or CAC profile the SBC does not have, listing the ones it has; nothing is saved', async () => {
    const id = await essentialsSession('WrongCarrier');
    const carrier = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: trunk({ carrier: 'Carrier9' }),
    });
    expect(carrier.status).toBe(400);
    expect(carrier.problem.errors).toEqual([
      expect.objectContaining({
        field: 'carrier',
        code: 'unknown_carrier',
        allowed: ['Carrier1', 'Carrier2'],
      }),
    ]);
    expect(carrier.problem.errors?.[0]?.message).toContain('Carrier1, Carrier2');

    const cac = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: trunk({ cacProfile: '7 sessions' }),
    });
    expect(cac.status).toBe(400);
    expect(cac.problem.errors?.[0]).toMatchObject({
      field: 'cacProfile',
      code: 'unknown_cac_profile',
      allowed: DEMO_SBC.cacProfiles.map((p) => p.name),
    });
    const session = await call('GET', `/api/v1/wizard-sessions/${id}`);
    expect((session.body as { pages: { sbc: unknown } }).pages.sbc).toBeNull();

    const saved = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: trunk({ cacProfile: '5 sessions' }),
    });
    expect(saved.status).toBe(200);
  });

  it("refuses a prefix whose dial plan is not on the SBC page's SBC", async () => {
    const id = await essentialsSession('WrongPlan');
    expect((await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, { json: trunk() })).status).toBe(200);
    const wrong = await call('PUT', `/api/v1/wizard-sessions/${id}/prefixes`, {
      json: {
        prefixes: [
          { dialPlanName: 'custdialplan', prefix: '+3222000001' },
          { dialPlanName: 'NoSuchPlan', prefix: '+3222000002' },
          { dialPlanName: 'NoSuchPlan', prefix: '+3222000003' },
        ],
      },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.problem.errors).toEqual([
      expect.objectContaining({
        field: 'prefixes.1.dialPlanName',
        code: 'unknown_dial_plan',
        allowed: DEMO_SBC.dialPlans,
      }),
    ]);
    const session = await call('GET', `/api/v1/wizard-sessions/${id}`);
    expect((session.body as { pages: { prefixes: unknown[] } }).pages.prefixes).toEqual([]);
  });

  it('refuses Submit and its dry run when the SBC lost the carrier since the page, creating nothing', async () => {
    const id = await essentialsSession('LostCarrier');
    const page = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, {
      json: trunk({ carrier: 'Carrier2' }),
    });
    expect(page.status).toBe(200);
    await withoutCarrier('Carrier2', async () => {
      for (const dryRun of [true, false]) {
        const submitted = await call('POST', `/api/v1/wizard-sessions/${id}/submit`, { json: { dryRun } });
        expect(submitted.status, `dryRun ${dryRun}`).toBe(400);
        expect(submitted.problem.errors).toEqual([
          expect.objectContaining({ field: 'sbc.carrier', code: 'unknown_carrier', allowed: ['Carrier1'] }),
        ]);
      }
    });
    expect((await call('GET', '/api/v1/customers/LostCarrier')).status).toBe(404);
  });
});

describe('a submitted session', () => {
  it('is closed: a second Submit and a page edit are refused with the task Submit queued', async () => {
    const id = await essentialsSession('SubmitOnce');
    const first = await call('POST', `/api/v1/wizard-sessions/${id}/submit`, { json: { dryRun: false } });
    expect(first.status).toBe(202);
    const location = first.headers.get('location') ?? '';
    expect(location).toMatch(/^\/api\/v1\/tasks\//);

    const again = await call('POST', `/api/v1/wizard-sessions/${id}/submit`, { json: { dryRun: false } });
    expect(again.problem).toMatchObject({ status: 409, code: 'wizard_submitted', task: location });
    const dryRun = await call('POST', `/api/v1/wizard-sessions/${id}/submit`, { json: { dryRun: true } });
    expect(dryRun.problem).toMatchObject({ status: 409, code: 'wizard_submitted', task: location });
    const edit = await call('PUT', `/api/v1/wizard-sessions/${id}/sbc`, { json: trunk() });
    expect(edit.problem).toMatchObject({ status: 409, code: 'wizard_submitted', task: location });
    const session = await call('GET', `/api/v1/wizard-sessions/${id}`);
    expect(session.body).toMatchObject({ taskId: location.split('/').pop(), pages: { sbc: null } });
  });
});
