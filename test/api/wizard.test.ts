import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { APP_REGISTRATION_PERMISSIONS } from '../../shared/credentials/app-permissions.js';
import type { TableRow } from '../../shared/storage/versioned-table.js';
import { tableText } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;
/** A customer's own app registration in Contoso, as the customer's admin would create it. */
let contosoApp: { clientId: string; clientSecret: string };

beforeAll(async () => {
  stack = await startMemoryStackWithPeers();
  call = apiClient(stack.api, () => stack.token());
  const contoso = DEMO.customers.contoso.tenantId;
  const app = stack.sandbox.state.addApplication({
    displayName: 'Contoso Direct Routing',
    homeTenantId: contoso,
  });
  const secret = stack.sandbox.state.addSecret(app.appId, { displayName: 'for the provider' });
  stack.sandbox.state.consent(contoso, app.appId, {
    'https://graph.microsoft.com': DEMO.appRegistrationGraphRoles,
  });
  contosoApp = { clientId: app.appId, clientSecret: secret.secretText };
});
afterAll(() => stack?.close());

type Session = {
  id: string;
  expiresAt: string;
  customer: unknown;
  connection: { method: string; status: string; tenantId?: string } | null;
  m365Settings: Record<string, unknown> | null;
};

async function openWithCustomer(shortName: string, licenseType = 'hosted-pro'): Promise<Session> {
  const opened = await call('POST', '/api/v1/wizard-sessions');
  expect(opened.status).toBe(201);
  const id = (opened.body as Session).id;
  const page1 = await call('PUT', `/api/v1/wizard-sessions/${id}/customer`, {
    json: {
      fullName: `${shortName} Ltd`,
      shortName,
      licenseType,
      ...(licenseType === 'hosted-essentials' ? {} : { licensedUsers: 10 }),
    },
  });
  expect(page1.status).toBe(200);
  return page1.body as Session;
}

function storedRows(table: string): Promise<string> {
  return tableText(stack, table);
}

describe('the wizard session', () => {
  it('belongs to the operator who opened it, renews with every step and resets', async () => {
    const session = await openWithCustomer('Sessiony');
    await new Promise((r) => setTimeout(r, 20));
    const read = await call('GET', `/api/v1/wizard-sessions/${session.id}`);
    expect(Date.parse((read.body as Session).expiresAt)).toBeGreaterThan(Date.parse(session.expiresAt));
    expect(Date.parse((read.body as Session).expiresAt) - Date.now()).toBeGreaterThan(9 * 60 * 1000);

    const otherOperator = await stack.token({ roles: ['provider-admin'], subject: 'another-operator' });
    expect(
      (await call('GET', `/api/v1/wizard-sessions/${session.id}`, { token: otherOperator })).status,
    ).toBe(404);

    expect(await call('DELETE', `/api/v1/wizard-sessions/${session.id}`)).toMatchObject({
      status: 200,
      body: { credentialsDeleted: null },
    });
    expect((await call('GET', `/api/v1/wizard-sessions/${session.id}`)).status).toBe(404);
  });

  it('expires after ten minutes without activity', async () => {
    const session = await openWithCustomer('Expiring');
    const table = stack.tables.table<TableRow & { expiresAt: string }>('wizardsessions');
    const stored = await table.get(session.id, 'session');
    expect(stored).not.toBeNull();
    await table.replace(
      { ...stored!.value, expiresAt: new Date(Date.now() - 1000).toISOString() },
      stored!.etag,
    );
    const response = await call('GET', `/api/v1/wizard-sessions/${session.id}`);
    expect(response.status).toBe(410);
    expect(response.problem.code).toBe('wizard_session_expired');
    expect((await call('GET', `/api/v1/wizard-sessions/${session.id}`)).status).toBe(404);
  });

  it('validates the first page like customer creation and refuses a Short Name in use', async () => {
    const opened = (await call('POST', '/api/v1/wizard-sessions')).body as Session;
    const bad = await call('PUT', `/api/v1/wizard-sessions/${opened.id}/customer`, {
      json: { fullName: 'x', shortName: 'a.b', licenseType: 'hosted-pro', licensedUsers: 501 },
    });
    expect(bad.status).toBe(400);
    expect(bad.problem.errors?.map((e) => e.code).sort()).toEqual(['short_name_dot', 'too_big']);
    await call('POST', '/api/v1/customers', {
      json: { fullName: 'Taken', shortName: 'Takenname', licenseType: 'hosted-essentials' },
    });
    const taken = await call('PUT', `/api/v1/wizard-sessions/${opened.id}/customer`, {
      json: { fullName: 'x', shortName: 'TAKENNAME', licenseType: 'hosted-pro', licensedUsers: 5 },
    });
    expect(taken.status).toBe(409);
    expect(taken.problem.code).toBe('short_name_taken');
  });
});

describe('Use known App registration', () => {
  it.each([
    [
      'a wrong secret',
      () => ({ ...contosoApp, clientSecret: 'not-the-secret' }),
      'clientSecret',
      "Invalid client secret: enter the secret's Value, not its Secret ID.",
    ],
    [
      'an unknown client',
      () => ({ ...contosoApp, clientId: '11111111-2222-4333-8444-555555555555' }),
      'clientId',
      'Application (Client) ID not found',
    ],
  ])('refuses %s with a clear message and stores nothing', async (_case, input, field, message) => {
    const session = await openWithCustomer(`Wrong${field.length}`);
    const before = await storedRows('credentials');
    const response = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: { method: 'app-registration', tenantId: DEMO.customers.contoso.tenantId, ...input() },
    });
    expect(response.status).toBe(422);
    expect(response.problem.code).toBe('app_registration_invalid');
    expect(response.problem.detail).toContain(message);
    expect(response.problem.errors?.[0]?.field).toBe(field);
    expect(await storedRows('credentials')).toEqual(before);
    expect(
      ((await call('GET', `/api/v1/wizard-sessions/${session.id}`)).body as Session).connection,
    ).toBeNull();
  });

  it('names the Graph permissions a registration lacks instead of reporting Successful, and stores nothing', async () => {
    const contoso = DEMO.customers.contoso.tenantId;
    const app = stack.sandbox.state.addApplication({ displayName: 'Half granted', homeTenantId: contoso });
    const secret = stack.sandbox.state.addSecret(app.appId, {});
    // What a customer's admin who followed an older guide grants: enough to sign in and onboard, not to replicate.
    stack.sandbox.state.consent(contoso, app.appId, {
      'https://graph.microsoft.com': ['Organization.Read.All', 'User.ReadWrite.All', 'Domain.ReadWrite.All'],
    });
    const session = await openWithCustomer('HalfGranted');
    const before = await storedRows('credentials');
    const response = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: {
        method: 'app-registration',
        tenantId: contoso,
        clientId: app.appId,
        clientSecret: secret.secretText,
      },
    });
    expect(response.status).toBe(422);
    expect(response.problem.code).toBe('app_registration_permission_missing');
    expect(response.problem.errors?.map((e) => e.code)).toEqual([
      'GroupMember.Read.All',
      'TeamsUserConfiguration.Read.All',
      'TeamsTelephoneNumber.ReadWrite.All',
    ]);
    expect(response.problem.detail).toContain('TeamsUserConfiguration.Read.All');
    expect(await storedRows('credentials')).toEqual(before);
    expect(
      ((await call('GET', `/api/v1/wizard-sessions/${session.id}`)).body as Session).connection,
    ).toBeNull();

    // Granted afterwards, the same registration connects.
    stack.sandbox.state.consent(contoso, app.appId, {
      'https://graph.microsoft.com': DEMO.appRegistrationGraphRoles,
    });
    const again = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: {
        method: 'app-registration',
        tenantId: contoso,
        clientId: app.appId,
        clientSecret: secret.secretText,
      },
    });
    expect(again.status).toBe(200);
  });

  it('a Check Credentials names a permission withdrawn since the connect', async () => {
    const contoso = DEMO.customers.contoso.tenantId;
    const app = stack.sandbox.state.addApplication({ displayName: 'Withdrawn', homeTenantId: contoso });
    const secret = stack.sandbox.state.addSecret(app.appId, {});
    const all = DEMO.appRegistrationGraphRoles;
    stack.sandbox.state.consent(contoso, app.appId, { 'https://graph.microsoft.com': all });
    const session = await openWithCustomer('Withdrawn');
    const connected = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: {
        method: 'app-registration',
        tenantId: contoso,
        clientId: app.appId,
        clientSecret: secret.secretText,
      },
    });
    expect(connected.status).toBe(200);
    stack.sandbox.state.consent(contoso, app.appId, {
      'https://graph.microsoft.com': all.filter((role) => role !== 'TeamsUserConfiguration.Read.All'),
    });
    const checked = await call('POST', '/api/v1/authentication-status/Withdrawn/check');
    expect(checked.body).toMatchObject({ lastVerificationStatus: 'failed' });
    expect((checked.body as { message: string }).message).toContain('TeamsUserConfiguration.Read.All');
  });

  it("the sandbox's demo app registration holds exactly the permissions the product checks", () => {
    expect([...DEMO.appRegistrationGraphRoles].sort()).toEqual(
      APP_REGISTRATION_PERMISSIONS.map((p) => p.permission).sort(),
    );
  });

  it('connects with the right values, prefills the Microsoft 365 Settings and reports Successful', async () => {
    const session = await openWithCustomer('AppReg');
    const response = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: { method: 'app-registration', tenantId: DEMO.customers.contoso.tenantId, ...contosoApp },
    });
    expect(response.status).toBe(200);
    const connected = response.body as Session;
    expect(connected.connection).toEqual({
      method: 'app-registration',
      status: 'authentication-complete',
      tenantId: DEMO.customers.contoso.tenantId,
    });
    expect(connected.m365Settings).toEqual({
      overrideAdminDomain: DEMO.customers.contoso.initialDomain,
      tenantId: DEMO.customers.contoso.tenantId,
      grantAdminAccessTo: null,
      teamsNotificationAppId: null,
      teamsNotificationSecretSaved: false,
    });
    expect(await storedRows('credentials')).not.toContain(contosoApp.clientSecret);

    const status = (await call('GET', '/api/v1/authentication-status')).body as {
      value: Array<Record<string, unknown>>;
    };
    expect(status.value.find((row) => row.customerId === 'AppReg')).toMatchObject({
      authenticationMethod: 'app-registration',
      lastVerificationStatus: 'successful',
      tenantId: DEMO.customers.contoso.tenantId,
    });
    const checked = await call('POST', '/api/v1/authentication-status/AppReg/check');
    expect(checked.body).toMatchObject({ lastVerificationStatus: 'successful', message: null });

    const settings = await call('PUT', `/api/v1/wizard-sessions/${session.id}/m365-settings`, {
      json: { overrideAdminDomain: 'contoso.onmicrosoft.com', grantAdminAccessTo: 'it@contoso.com' },
    });
    expect((settings.body as Session).m365Settings).toMatchObject({
      grantAdminAccessTo: 'it@contoso.com',
      tenantId: DEMO.customers.contoso.tenantId,
    });
    const notForPro = await call('PUT', `/api/v1/wizard-sessions/${session.id}/m365-settings`, {
      json: {
        overrideAdminDomain: 'contoso.onmicrosoft.com',
        teamsNotificationAppId: contosoApp.clientId,
        teamsNotificationSecret: 's',
      },
    });
    expect(notForPro.status).toBe(400);
    expect(notForPro.problem.errors?.[0]?.code).toBe('not_applicable');
  });

  it('marks the credentials Failed with the reason when the secret stops working', async () => {
    const session = await openWithCustomer('Rotated');
    const secret = stack.sandbox.state.addSecret(contosoApp.clientId, {
      displayName: 'short-lived',
      endDateTime: new Date(Date.now() + 1500).toISOString(),
    });
    const connected = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: {
        method: 'app-registration',
        tenantId: DEMO.customers.contoso.tenantId,
        clientId: contosoApp.clientId,
        clientSecret: secret.secretText,
      },
    });
    expect(connected.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const checked = await call('POST', '/api/v1/authentication-status/Rotated/check');
    expect(checked.body).toMatchObject({
      lastVerificationStatus: 'failed',
      message: 'The client secret has expired: create a new one in the app registration.',
    });
    const alarms = (await call('GET', '/api/v1/alarms?active=true')).body as {
      value: Array<Record<string, unknown>>;
    };
    expect(alarms.value).toContainEqual(
      expect.objectContaining({
        name: 'Customer credentials failed',
        source: 'customer:Rotated',
        clearedAt: null,
      }),
    );

    const renewed = stack.sandbox.state.addSecret(contosoApp.clientId, { displayName: 'renewed' });
    const wrong = await call('PUT', '/api/v1/authentication-status/Rotated/app-registration', {
      json: { clientId: contosoApp.clientId, clientSecret: 'still-wrong' },
    });
    expect(wrong.status).toBe(422);
    const updated = await call('PUT', '/api/v1/authentication-status/Rotated/app-registration', {
      json: { clientId: contosoApp.clientId, clientSecret: renewed.secretText },
    });
    expect(updated.body).toMatchObject({ lastVerificationStatus: 'successful', message: null });
    const after = (await call('GET', '/api/v1/alarms')).body as { value: Array<Record<string, unknown>> };
    const alarm = after.value.find((a) => a.source === 'customer:Rotated');
    expect(alarm?.clearedAt).toEqual(expect.any(String));
  });
});

describe('prerequisites', () => {
  it('refuses to send an invitation before the token app is configured, naming the missing setting', async () => {
    const session = await openWithCustomer('Prereq');
    const response = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: { method: 'invite', invitationEmail: 'it@contoso.com' },
    });
    expect(response.status).toBe(409);
    expect(response.problem).toMatchObject({
      code: 'prerequisite_missing',
      detail: 'No ClientId was specified.',
    });
    expect(
      ((await call('GET', `/api/v1/wizard-sessions/${session.id}`)).body as Session).connection,
    ).toBeNull();
  });

  it('has no Microsoft 365 connection for Hosted Essentials', async () => {
    const session = await openWithCustomer('EssOnly', 'hosted-essentials');
    const response = await call('POST', `/api/v1/wizard-sessions/${session.id}/connection`, {
      json: { method: 'app-registration', tenantId: DEMO.customers.contoso.tenantId, ...contosoApp },
    });
    expect(response.status).toBe(409);
    expect(response.problem.code).toBe('no_m365_for_essentials');
  });
});
