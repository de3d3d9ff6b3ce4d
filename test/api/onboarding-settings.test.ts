import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { tableText } from '../consent/consent-fixture.js';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token());
});
afterAll(() => stack?.close());

const GUIDS = {
  tenant: '11111111-2222-4333-8444-555555555555',
  client: '22222222-3333-4444-8555-666666666666',
  otherClient: '33333333-4444-4555-8666-777777777777',
  subscription: '44444444-5555-4666-8777-888888888888',
};

describe('DNS API Configuration', () => {
  it('starts unconfigured, keeps the Client Secret write-only, and wants a new secret for a new Client Id', async () => {
    expect((await call('GET', '/api/v1/settings/dns-api')).body).toMatchObject({
      configured: false,
      credential: null,
    });
    const config = {
      credential: 'app',
      tenantId: GUIDS.tenant,
      clientId: GUIDS.client,
      subscriptionId: GUIDS.subscription,
      resourceGroupName: 'rg-voice',
      dnsZone: 'Voice.Provider.Example',
    };
    const missing = await call('PUT', '/api/v1/settings/dns-api', { json: config });
    expect(missing.status).toBe(400);
    expect(missing.problem.errors?.[0]).toMatchObject({ field: 'clientSecret', code: 'required' });

    const secret = 'dns8Q~provisioning-secret-value';
    const saved = await call('PUT', '/api/v1/settings/dns-api', {
      json: { ...config, clientSecret: secret },
    });
    expect(saved.body).toEqual({
      configured: true,
      credential: 'app',
      tenantId: GUIDS.tenant,
      clientId: GUIDS.client,
      clientSecretSaved: true,
      subscriptionId: GUIDS.subscription,
      resourceGroupName: 'rg-voice',
      dnsZone: 'voice.provider.example',
    });
    expect(JSON.stringify(saved.body)).not.toContain(secret);
    expect(await tableText(stack, 'onboardingsettings')).not.toContain(secret);

    expect((await call('PUT', '/api/v1/settings/dns-api', { json: config })).status).toBe(200);
    const otherApp = await call('PUT', '/api/v1/settings/dns-api', {
      json: { ...config, clientId: GUIDS.otherClient },
    });
    expect(otherApp.status).toBe(400);

    const managed = await call('PUT', '/api/v1/settings/dns-api', {
      json: {
        credential: 'managed-identity',
        subscriptionId: GUIDS.subscription,
        resourceGroupName: 'rg',
        dnsZone: 'voice.provider.example',
      },
    });
    expect(managed.body).toMatchObject({
      credential: 'managed-identity',
      clientSecretSaved: false,
      tenantId: null,
    });
  });

  it('names every invalid field', async () => {
    const response = await call('PUT', '/api/v1/settings/dns-api', {
      json: {
        credential: 'app',
        tenantId: 'x',
        clientId: GUIDS.client,
        subscriptionId: 'y',
        resourceGroupName: 'rg.',
        dnsZone: 'no zone',
      },
    });
    expect(response.status).toBe(400);
    expect(new Set(response.problem.errors?.map((e) => e.field))).toEqual(
      new Set(['tenantId', 'subscriptionId', 'resourceGroupName', 'dnsZone']),
    );
  });
});

describe('Known SBCs and regions', () => {
  it('adds an SBC with HTTPS on by default and a write-only Gateway Password', async () => {
    const password = 'Sbc-Admin-Pa55!';
    const created = await call('POST', '/api/v1/settings/sbcs', {
      json: {
        name: 'EMEA SP1 SBC',
        ipAddress: '51.137.97.95',
        deviceFqdn: 'sbc1.voice.provider.example',
        gatewayUser: 'Admin',
        gatewayPassword: password,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: 'emea-sp1-sbc',
      name: 'EMEA SP1 SBC',
      ipAddress: '51.137.97.95',
      deviceFqdn: 'sbc1.voice.provider.example',
      natIpAddress: null,
      https: true,
      gatewayUser: 'Admin',
      gatewayPasswordSaved: true,
    });
    expect(await tableText(stack, 'onboardingsettings')).not.toContain(password);
    const duplicate = await call('POST', '/api/v1/settings/sbcs', {
      json: { name: 'emea sp1 sbc', ipAddress: '51.137.97.96', gatewayUser: 'Admin', gatewayPassword: 'x' },
    });
    expect(duplicate.status).toBe(409);
    const noPassword = await call('POST', '/api/v1/settings/sbcs', {
      json: { name: 'APAC SBC', ipAddress: '13.80.148.30', gatewayUser: 'Admin' },
    });
    expect(noPassword.problem.errors?.[0]).toMatchObject({ field: 'gatewayPassword' });
  });

  it('adds regions that point at a Known SBC, with the manual\'s "Please enter a valid Name"', async () => {
    const badName = await call('POST', '/api/v1/settings/regions', {
      json: {
        name: 'EMEA west!',
        sbcId: 'emea-sp1-sbc',
        fqdn: 'ea.voice.provider.example',
        ipAddress: '23.97.197.41',
      },
    });
    expect(badName.status).toBe(400);
    expect(badName.problem.errors?.[0]).toMatchObject({
      field: 'name',
      message: 'Please enter a valid Name',
    });

    const unknownSbc = await call('POST', '/api/v1/settings/regions', {
      json: { name: 'EMEA', sbcId: 'nope', fqdn: 'ea.voice.provider.example', ipAddress: '23.97.197.41' },
    });
    expect(unknownSbc.problem.errors?.[0]).toMatchObject({ field: 'sbcId', code: 'unknown_sbc' });

    const region = {
      name: 'EMEA',
      sbcId: 'emea-sp1-sbc',
      fqdn: 'ea.voice.provider.example',
      ipAddress: '23.97.197.41',
    };
    expect((await call('POST', '/api/v1/settings/regions', { json: region })).status).toBe(201);
    expect(
      (await call('POST', '/api/v1/settings/regions', { json: { ...region, name: 'emea' } })).status,
    ).toBe(409);
    const edited = await call('PUT', '/api/v1/settings/regions/emea', {
      json: { ...region, ipAddress: '23.97.197.42' },
    });
    expect(edited.body).toMatchObject({ id: 'emea', ipAddress: '23.97.197.42' });
    expect((await call('GET', '/api/v1/settings/regions')).body).toEqual({
      value: [{ id: 'emea', ...region, ipAddress: '23.97.197.42' }],
      nextLink: null,
    });

    expect((await call('DELETE', '/api/v1/settings/sbcs/emea-sp1-sbc')).status).toBe(409);
    expect((await call('DELETE', '/api/v1/settings/regions/emea')).status).toBe(204);
    expect((await call('DELETE', '/api/v1/settings/sbcs/emea-sp1-sbc')).status).toBe(204);
  });

  it('Resolve Address refuses what is no FQDN and says when a name does not resolve', async () => {
    const notFqdn = await call('POST', '/api/v1/settings/regions/resolve', { json: { fqdn: 'localhost' } });
    expect(notFqdn.problem).toMatchObject({ status: 400, code: 'validation_failed' });
    const local = await call('POST', '/api/v1/settings/regions/resolve', {
      json: { fqdn: 'no-such-host.invalid' },
    });
    expect(local.status).toBe(422);
    expect(local.problem.code).toBe('fqdn_unresolved');
  });
});

describe('eligible license plans', () => {
  it("defaults to the manual's plans and can be replaced", async () => {
    const defaults = (await call('GET', '/api/v1/settings/license-plans')).body as {
      plans: Array<{ name: string }>;
    };
    expect(defaults.plans.map((p) => p.name)).toContain('Office 365 E5');
    const plans = [{ name: 'Microsoft 365 E5', skuPartNumbers: ['SPE_E5'] }];
    expect((await call('PUT', '/api/v1/settings/license-plans', { json: { plans } })).body).toEqual({
      plans,
    });
    expect((await call('PUT', '/api/v1/settings/license-plans', { json: { plans: [] } })).status).toBe(400);
    expect((await call('GET', '/api/v1/settings/license-plans')).body).toEqual({ plans });
  });
});
