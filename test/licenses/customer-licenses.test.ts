import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { apiClient } from '../support/api-client.js';
import { mirrorUser } from '../support/mirror-user.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

const GATEWAY = 'lic.emea.voice.example';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

const user = (n: number, changes: Partial<MirrorUser> = {}): MirrorUser =>
  mirrorUser({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    userPrincipalName: `user${n}@lic.example`,
    displayName: `User ${n}`,
    ...changes,
  });

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token());
  const created = await call('POST', '/api/v1/customers', {
    json: { fullName: 'Lic Ltd', shortName: 'Lic', licenseType: 'hosted-pro', licensedUsers: 5 },
  });
  expect(created.status).toBe(201);
  // What replication and onboarding left: 4 Direct Routing users through the customer's own gateway, 1 routed
  // through someone else's, 2 without voice; two prefixes tagged to another gateway (fax, emergency).
  const mirror = stack.services.mirror;
  const routed = { enterpriseVoiceEnabled: true, policies: { OnlineVoiceRoutingPolicy: 'Unrestricted' } };
  await mirror.putUsers(
    'Lic',
    [
      ...[1, 2, 3, 4].map((n) => user(n, { ...routed, lineUri: `tel:+4420000000${n}` })),
      user(5, { enterpriseVoiceEnabled: true, policies: { OnlineVoiceRoutingPolicy: 'Elsewhere' } }),
      user(6),
      user(7),
    ],
    'test',
  );
  await mirror.putVoiceObjects(
    'Lic',
    [
      {
        policyName: 'OnlineVoiceRoutingPolicy',
        identity: 'Tag:Unrestricted',
        data: { OnlinePstnUsages: ['Unrestricted'] },
      },
      {
        policyName: 'OnlineVoiceRoutingPolicy',
        identity: 'Tag:Elsewhere',
        data: { OnlinePstnUsages: ['Other'] },
      },
      {
        policyName: 'OnlineVoiceRoute',
        identity: 'Unrestricted',
        data: { OnlinePstnUsages: ['Unrestricted'], OnlinePstnGatewayList: [GATEWAY], Priority: 1 },
      },
      {
        policyName: 'OnlineVoiceRoute',
        identity: 'Other',
        data: { OnlinePstnUsages: ['Other'], OnlinePstnGatewayList: ['other.carrier.example'], Priority: 2 },
      },
    ],
    [],
    'test',
  );
  const now = new Date().toISOString();
  await stack.services.sites.create({
    customerId: 'Lic',
    siteName: 'Lic',
    gatewayFqdn: GATEWAY,
    dns: null,
    m365Routing: null,
    sbc: null,
    prefixes: [
      { dialPlanName: 'CustDialPlan', prefix: '+44200', tag: '' },
      { dialPlanName: 'CustDialPlan', prefix: '+44209', tag: 'fax.lic.example' },
      { dialPlanName: 'CustDialPlan', prefix: '+44999', tag: 'emergency.lic.example' },
    ],
    gatewayCreated: true,
    createdAt: now,
    updatedAt: now,
  });
}, 60_000);
afterAll(() => stack?.close());

describe("a customer's licenses, counted from the replicated data", () => {
  it('counts Direct Routing users through its own gateway and its service numbers', async () => {
    const response = await call('POST', '/api/v1/customers/Lic/license/refresh');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toMatchObject({
      acquiredLicenses: 5,
      currentlyLicensed: 6,
      remaining: -1,
      totalMonitoredUsers: 7,
      factorsSource: 'global',
      note: 'Note: By default License billing is based on the globally configured License Factors.',
      factors: {
        directRouting: { display: '4 (4)' },
        operatorConnect: { display: '0 (0)' },
        byTemplate: { display: '0 (0)' },
        serviceNumbers: { display: '2 (2)', label: 'Managed Service Numbers' },
      },
    });
  });

  it('counts the users a user template was applied to under "Managed Users - By Template"', async () => {
    const mirror = stack.services.mirror;
    await mirror.updateUsers('Lic', [{ id: user(1).id, template: '1' }], 'template-1');
    const response = await call('POST', '/api/v1/customers/Lic/license/refresh');
    // A Direct Routing user already: it qualifies By Template too, and is billed once.
    expect(response.body).toMatchObject({
      currentlyLicensed: 6,
      factors: { byTemplate: { display: '0 (1)', label: 'Managed Users - By Template' } },
    });
  });

  it('applies the customer factors, restores the global ones, and keeps the history', async () => {
    const own = await call('PUT', '/api/v1/customers/Lic/license/factors', {
      json: { factors: { byTemplate: true, byUserInterface: true, serviceNumbers: false } },
    });
    expect(own.body).toMatchObject({
      currentlyLicensed: 4,
      factorsSource: 'customer',
      factors: { serviceNumbers: { display: '[n/a] (2)' } },
    });
    expect((own.body as { note: string }).note).toContain('If you want to restore to default, click here.');
    const restored = await call('PUT', '/api/v1/customers/Lic/license/factors', { json: { factors: null } });
    expect(restored.body).toMatchObject({ currentlyLicensed: 6, factorsSource: 'global' });
    const history = await call('GET', '/api/v1/customers/Lic/license/history');
    expect(
      (history.body as { value: Array<{ currentlyLicensed: number }> }).value.map((h) => h.currentlyLicensed),
    ).toEqual([6, 4, 6, 6]);
  });

  it('takes the global factors and limits, and refuses bad ones', async () => {
    const bad = await call('PUT', '/api/v1/settings/license', {
      json: { warningLimitPercent: 120, graceIntervalPercent: 10, factors: { byTemplate: true } },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect((await call('GET', '/api/v1/settings/license')).body).toMatchObject({
      warningLimitPercent: 90,
      graceIntervalPercent: 10,
      factors: { byTemplate: true, byUserInterface: true, serviceNumbers: true },
    });
    const saved = await call('PUT', '/api/v1/settings/license', {
      json: {
        warningLimitPercent: 80,
        graceIntervalPercent: 5,
        factors: { byTemplate: true, byUserInterface: true, serviceNumbers: false },
      },
    });
    expect(saved.status).toBe(200);
    const counted = await call('POST', '/api/v1/customers/Lic/license/refresh');
    expect(counted.body).toMatchObject({
      currentlyLicensed: 4,
      factors: { serviceNumbers: { display: '[n/a] (2)' } },
    });
  });

  it('counts a user an operator changed through the user routes under "Managed Users - By User Interface"', async () => {
    const changed = await call('PATCH', `/api/v1/customers/Lic/users/${user(7).id}`, {
      json: { enterpriseVoiceEnabled: true },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(202);
    // User 7 has no voice through the customer's gateway: it is billed by this factor alone.
    expect((await call('POST', '/api/v1/customers/Lic/license/refresh')).body).toMatchObject({
      currentlyLicensed: 5,
      factors: { byUserInterface: { display: '1 (1)', label: 'Managed Users - By User Interface' } },
    });
  });
});
