import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import { REPLICATION_QUEUE } from '../../shared/replication/replication-store.js';
import type { TableRow } from '../../shared/storage/versioned-table.js';
import { SWEEP_GRACE_MS } from '../../shared/wizard/wizard-service.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;
let contosoApp: { clientId: string; clientSecret: string };

beforeAll(async () => {
  // Queued messages stay put: the test sees whether replication was ever asked for.
  stack = await startMemoryStackWithPeers({ deliverQueues: false });
  call = apiClient(stack.api, () => stack.token());
  const contoso = DEMO.customers.contoso.tenantId;
  const app = stack.sandbox.state.addApplication({ displayName: 'Contoso DR', homeTenantId: contoso });
  const secret = stack.sandbox.state.addSecret(app.appId, { displayName: 'for the provider' });
  stack.sandbox.state.consent(contoso, app.appId, {
    'https://graph.microsoft.com': DEMO.appRegistrationGraphRoles,
  });
  contosoApp = { clientId: app.appId, clientSecret: secret.secretText };
});
afterAll(() => stack?.close());

/** A session whose operator entered the customer and connected it with the customer's app registration. */
async function connected(shortName: string): Promise<string> {
  const id = ((await call('POST', '/api/v1/wizard-sessions')).body as { id: string }).id;
  const page1 = await call('PUT', `/api/v1/wizard-sessions/${id}/customer`, {
    json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
  });
  expect(page1.status).toBe(200);
  const connection = await call('POST', `/api/v1/wizard-sessions/${id}/connection`, {
    json: { method: 'app-registration', tenantId: DEMO.customers.contoso.tenantId, ...contosoApp },
  });
  expect(connection.status, JSON.stringify(connection.body)).toBe(200);
  return id;
}

async function expireSession(id: string, agoMs: number): Promise<void> {
  const table = stack.tables.table<TableRow & { expiresAt: string }>('wizardsessions');
  const stored = await table.get(id, 'session');
  await table.replace(
    { ...stored!.value, expiresAt: new Date(Date.now() - agoMs).toISOString() },
    stored!.etag,
  );
}

/** Whether anything ever asked for a replication of the customer: a queued trigger or the timer. */
async function replicationAskedFor(customerId: string): Promise<boolean> {
  await stack.services.replication.tick();
  return stack.queues
    .peek(REPLICATION_QUEUE)
    .some((m) => (m.message as { customerId?: string }).customerId === customerId);
}

const credentialOf = (customerId: string) => stack.services.credentials.get(customerId);

async function providerAudit(operation: string) {
  const response = await call('GET', '/api/v1/audit?top=100');
  expect(response.status).toBe(200);
  return (
    response.body as { value: Array<{ operation: string; request: unknown; changes: unknown }> }
  ).value.filter((e) => e.operation === operation);
}

describe('a wizard that ends without Submit leaves no credentials behind', () => {
  it('Reset deletes the captured app registration and says what the customer should revoke', async () => {
    const id = await connected('Resetco');
    expect((await credentialOf('Resetco'))?.heldByWizardSession).toBe(id);
    expect(await replicationAskedFor('Resetco')).toBe(false);

    const reset = await call('DELETE', `/api/v1/wizard-sessions/${id}`);
    expect(reset.status).toBe(200);
    const { credentialsDeleted } = reset.body as {
      credentialsDeleted: { customerId: string; tenantId: string; message: string } | null;
    };
    expect(credentialsDeleted).toMatchObject({
      customerId: 'Resetco',
      tenantId: DEMO.customers.contoso.tenantId,
    });
    expect(credentialsDeleted?.message).toContain(
      `delete the client secret given for app registration ${contosoApp.clientId}`,
    );
    expect(await credentialOf('Resetco')).toBeNull();
    const rows = (await call('GET', '/api/v1/authentication-status')).body as {
      value: Array<{ customerId: string }>;
    };
    expect(rows.value.map((r) => r.customerId)).not.toContain('Resetco');
    expect(await replicationAskedFor('Resetco')).toBe(false);
    expect(
      (await providerAudit('wizard-reset')).some((e) => JSON.stringify(e.changes).includes('Resetco')),
    ).toBe(true);

    // A second Reset finds nothing: the session is gone.
    expect((await call('DELETE', `/api/v1/wizard-sessions/${id}`)).status).toBe(404);
  });

  it('Reset of a session with nothing captured says so', async () => {
    const id = ((await call('POST', '/api/v1/wizard-sessions')).body as { id: string }).id;
    const reset = await call('DELETE', `/api/v1/wizard-sessions/${id}`);
    expect(reset).toMatchObject({ status: 200, body: { credentialsDeleted: null } });
  });

  it('an expired session read again deletes its credentials, and the answer and the audit say so', async () => {
    const id = await connected('Expireco');
    await expireSession(id, 1000);
    const response = await call('GET', `/api/v1/wizard-sessions/${id}`);
    expect(response.status).toBe(410);
    expect(response.problem.code).toBe('wizard_session_expired');
    expect(response.problem.detail).toContain(
      'The Microsoft 365 credentials captured for "Expireco" were deleted without being used.',
    );
    expect(await credentialOf('Expireco')).toBeNull();
    expect(await replicationAskedFor('Expireco')).toBe(false);
    const [entry] = (await providerAudit('wizard-expired')).filter((e) =>
      JSON.stringify(e.changes).includes('Expireco'),
    );
    expect(JSON.stringify(entry?.request)).toContain("Ask the customer's admin");
  });

  it('the sweep deletes what a session nobody read again left behind, once; a sign-in grant likewise', async () => {
    const id = await connected('Sweepco');
    // The sweep leaves a session that only just expired to a step that may still be renewing it.
    await expireSession(id, SWEEP_GRACE_MS / 2);
    expect(await stack.services.wizard.sweep()).toEqual({ deleted: 0, released: 0 });
    expect(await credentialOf('Sweepco')).not.toBeNull();

    await expireSession(id, SWEEP_GRACE_MS + 60_000);
    // A sign-in whose session is already gone (the process stopped between deleting it and its credential).
    await createCredentialStore(stack.tables).put({
      customerId: 'Signinco',
      method: 'token',
      tenantId: DEMO.customers.contoso.tenantId,
      m365Email: 'admin@contoso.example',
      m365AdminObjectId: null,
      initialDomain: null,
      tenantDisplayName: null,
      clientId: null,
      clientSecretExpiresAt: null,
      sealedSecret: stack.services.secretBox.seal('refresh-token', 'credentials/signinco/secret'),
      whenLastVerified: null,
      lastVerificationStatus: 'successful',
      lastVerificationMessage: null,
      heldByWizardSession: 'AAAAAAAAAAAAAAAAAAAAAA',
    });

    expect(await stack.services.wizard.sweep()).toEqual({ deleted: 2, released: 0 });
    expect(await credentialOf('Sweepco')).toBeNull();
    expect(await credentialOf('Signinco')).toBeNull();
    expect((await call('GET', `/api/v1/wizard-sessions/${id}`)).status).toBe(404);
    const notices = (await providerAudit('wizard-expired')).map((e) => JSON.stringify(e.request));
    expect(notices.some((n) => n.includes('Sweepco'))).toBe(true);
    expect(notices.some((n) => n.includes('Signinco') && n.includes('remove the admin consent'))).toBe(true);
    expect(await replicationAskedFor('Sweepco')).toBe(false);
    expect(await replicationAskedFor('Signinco')).toBe(false);

    expect(await stack.services.wizard.sweep()).toEqual({ deleted: 0, released: 0 });
  });

  it('hands a credential whose Submit created the customer over to it, and replication starts', async () => {
    const id = await connected('Submitco');
    // Submit created the customer, then stopped before handing the credentials over.
    const created = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Submitco Ltd', shortName: 'Submitco', licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(created.status).toBe(201);
    expect(await replicationAskedFor('Submitco')).toBe(false);
    await expireSession(id, SWEEP_GRACE_MS + 60_000);

    expect(await stack.services.wizard.sweep()).toEqual({ deleted: 0, released: 1 });
    expect((await credentialOf('Submitco'))?.heldByWizardSession).toBeNull();
    expect(await replicationAskedFor('Submitco')).toBe(true);
  });
});
