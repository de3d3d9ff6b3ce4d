import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import {
  type Call,
  completeDeviceFlow,
  configureProvider,
  invitationLink,
  inviteThroughWizard,
  tableText,
  waitFor,
} from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';

const contoso = DEMO.customers.contoso;
const fabrikam = DEMO.customers.fabrikam;
const DAY_MS = 24 * 60 * 60 * 1000;

let stack: MemoryStackWithPeers;
let call: Call;

interface Row {
  customerId: string;
  authenticationMethod: string;
  whenLastVerified: string | null;
  lastVerificationStatus: string;
  clientSecretDaysUntilExpire: number | null;
  message: string | null;
}

const rows = async () =>
  ((await call('GET', '/api/v1/authentication-status')).body as { value: Row[] }).value;
const rowOf = async (customerId: string) => (await rows()).find((r) => r.customerId === customerId);
const activeAlarms = async () =>
  (
    (await call('GET', '/api/v1/alarms?active=true')).body as {
      value: Array<{ name: string; source: string; text: string }>;
    }
  ).value;

/** A customer connected by its own app registration through the wizard; the secret ends in `days`. */
async function connectAppRegistration(shortName: string, options: { days: number; canReadItself: boolean }) {
  const app = stack.sandbox.state.addApplication({
    displayName: `${shortName} app`,
    homeTenantId: fabrikam.tenantId,
  });
  const secret = stack.sandbox.state.addSecret(app.appId, {
    endDateTime: new Date(Date.now() + options.days * DAY_MS).toISOString(),
  });
  stack.sandbox.state.consent(fabrikam.tenantId, app.appId, {
    'https://graph.microsoft.com': [
      ...DEMO.appRegistrationGraphRoles,
      ...(options.canReadItself ? ['Application.Read.All'] : []),
    ],
  });
  const opened = await call('POST', '/api/v1/wizard-sessions');
  const sessionId = (opened.body as { id: string }).id;
  await call('PUT', `/api/v1/wizard-sessions/${sessionId}/customer`, {
    json: { fullName: shortName, shortName, licenseType: 'hosted-pro', licensedUsers: 3 },
  });
  const connected = await call('POST', `/api/v1/wizard-sessions/${sessionId}/connection`, {
    json: {
      method: 'app-registration',
      tenantId: fabrikam.tenantId,
      clientId: app.appId,
      clientSecret: secret.secretText,
    },
  });
  expect(connected.status, JSON.stringify(connected.body)).toBe(200);
  return { app, secret };
}

beforeAll(async () => {
  stack = await startMemoryStackWithPeers();
  call = apiClient(stack.api, () => stack.token());
  await configureProvider(stack, call);
});
afterAll(() => stack?.close());

describe('Client Secret Days Until Expire', () => {
  it('shows the days left on the secret in use when the app may read its own registration, else unknown', async () => {
    await connectAppRegistration('Days', { days: 45, canReadItself: true });
    await connectAppRegistration('NoDays', { days: 45, canReadItself: false });
    expect(await rowOf('Days')).toMatchObject({
      authenticationMethod: 'app-registration',
      lastVerificationStatus: 'successful',
      clientSecretDaysUntilExpire: 44,
    });
    expect((await rowOf('NoDays'))?.clientSecretDaysUntilExpire).toBeNull();
  });
});

describe('a customer connected with a token (device code)', () => {
  beforeAll(async () => {
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    await inviteThroughWizard(call, { shortName: 'Contoso' }, contoso.admin.userPrincipalName);
    const { link } = await invitationLink(stack, contoso.admin.userPrincipalName, before);
    await completeDeviceFlow(stack, link, contoso.admin.userPrincipalName, stack.api.fetch, 0);
  });

  it('stores the rotated refresh token at every check, sealed', async () => {
    const sealed = async () => /"sealedSecret":"([^"]+)"/.exec(await tableText(stack, 'credentials'))?.[1];
    expect(await rowOf('Contoso')).toMatchObject({
      authenticationMethod: 'token',
      lastVerificationStatus: 'successful',
    });
    const first = await sealed();
    const checked = await call('POST', '/api/v1/authentication-status/Contoso/check');
    expect(checked.body).toMatchObject({
      lastVerificationStatus: 'successful',
      clientSecretDaysUntilExpire: null,
    });
    expect(await sealed()).not.toBe(first);
    const stored = await tableText(stack, 'credentials');
    const issued = stack.sandbox.state.entra.issuedRefreshTokens();
    expect(issued.length).toBeGreaterThan(2);
    for (const token of issued) expect(stored).not.toContain(token);
  });

  it('fails with a clear message and raises an alarm once the grant is revoked, and clears it on the next success', async () => {
    stack.sandbox.state.entra.revokeGrants(contoso.tenantId, contoso.admin.userPrincipalName);
    const failed = await call('POST', '/api/v1/authentication-status/Contoso/check');
    expect(failed.body).toMatchObject({
      lastVerificationStatus: 'failed',
      message:
        "The customer's consent is no longer valid (the admin's password changed or the grant was revoked); the customer's admin must authenticate again.",
    });
    expect(await activeAlarms()).toContainEqual(
      expect.objectContaining({ name: 'Customer credentials failed', source: 'customer:Contoso' }),
    );

    // "Switch to token": the admin authenticates again through a Request invitation.
    const before = stack.sandbox.mail.messages().at(-1)?.seq ?? 0;
    const customer = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Contoso Ltd', shortName: 'Contoso', licenseType: 'hosted-pro', licensedUsers: 25 },
    });
    expect(customer.status).toBe(201);
    const request = await call('POST', '/api/v1/customers/Contoso/invitations', {
      json: { invitationEmail: contoso.admin.userPrincipalName },
    });
    expect(request.body).toMatchObject({ invitationType: 'request', status: 'pending-authentication' });
    const { link } = await invitationLink(stack, contoso.admin.userPrincipalName, before);
    await completeDeviceFlow(stack, link, contoso.admin.userPrincipalName, stack.api.fetch, 0);
    const healed = await call('POST', '/api/v1/authentication-status/Contoso/check');
    expect(healed.body).toMatchObject({ lastVerificationStatus: 'successful', message: null });
    expect((await activeAlarms()).filter((a) => a.source === 'customer:Contoso')).toEqual([]);
  });
});

describe('Verify All', () => {
  it('checks every customer in the background, one queue message each', async () => {
    const before = new Map((await rows()).map((r) => [r.customerId, r.whenLastVerified]));
    expect(before.size).toBeGreaterThanOrEqual(3);
    const response = await call('POST', '/api/v1/authentication-status/verify-all');
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ queued: before.size });
    await waitFor('every row verified again', async () => {
      const now = await rows();
      return now.every((r) => r.whenLastVerified !== before.get(r.customerId)) ? now : undefined;
    });
  });
});
