import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers();
  call = apiClient(stack.api, () => stack.token());
  const sbc = await call('POST', '/api/v1/settings/sbcs', {
    json: { name: 'sbc-eu1', ipAddress: '51.137.97.95', gatewayUser: 'Admin', gatewayPassword: 'Sbc-Pa55' },
  });
  expect(sbc.status).toBe(201);
  const region = await call('POST', '/api/v1/settings/regions', {
    json: { name: 'EMEA', sbcId: 'sbc-eu1', fqdn: 'ea.voice.provider.example', ipAddress: '51.137.97.95' },
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
      'https://graph.microsoft.com': ['Organization.Read.All'],
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
