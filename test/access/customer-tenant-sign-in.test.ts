import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePendingAdmins } from '../../shared/access/pending-admins.js';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import { mirrorDirectory } from '../../shared/users/bulk-import-service.js';
import { mirrorUser } from '../support/mirror-user.js';
import { apiClient } from '../support/api-client.js';
import { connectedCredential } from '../support/connected-credential.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { CUSTOMER_ADMIN, grantRoles, OTHER, OWN } from '../support/roles.js';

/**
 * Issue 14 item 7: a customer's admin signs in to the customer's own Entra tenant, not the provider's. Such a token
 * is accepted when its tenant is a customer's, in Entra's v1.0 and v2.0 formats; the caller is that customer's admin
 * and nothing more, whatever roles its own tenant wrote into the token, and only where it was granted — by tenant
 * and object id together.
 */
const OWN_TENANT = 'a1a1a1a1-0000-4000-8000-000000000001';
const OTHER_TENANT = 'b2b2b2b2-0000-4000-8000-000000000002';
const STRANGER_TENANT = 'c3c3c3c3-0000-4000-8000-000000000003';

let stack: MemoryStack;
const as = (token: string) => apiClient(stack.api, async () => token);
const status = async (token: string, method: string, path: string, json?: unknown) =>
  (await as(token)(method, path, json === undefined ? {} : { json })).status;

beforeAll(async () => {
  stack = await startMemoryStack();
  const admin = as(await stack.token());
  for (const shortName of [OWN, OTHER]) {
    const created = await admin('POST', '/api/v1/customers', {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-essentials' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  await grantRoles(stack, admin);
  // Both customers connected to their tenants, as consent leaves them.
  const credentials = createCredentialStore(stack.tables);
  for (const [customerId, tenantId] of [
    [OWN, OWN_TENANT],
    [OTHER, OTHER_TENANT],
  ] as const) {
    await credentials.put(connectedCredential(customerId, tenantId));
  }
}, 120_000);
afterAll(async () => stack?.close());

describe("a customer admin signed in to the customer's own tenant", () => {
  it.each(['2.0', '1.0'] as const)(
    'reads its customer and lists its users with a v%s token, and is refused on another customer',
    async (version) => {
      const token = await stack.token({
        tenantId: OWN_TENANT,
        subject: CUSTOMER_ADMIN,
        roles: [],
        version,
        username: 'admin@ownco.example',
      });
      expect(await status(token, 'GET', `/api/v1/customers/${OWN}`)).toBe(200);
      expect(await status(token, 'GET', `/api/v1/customers/${OWN}/users`)).not.toBe(403);
      expect(await status(token, 'GET', `/api/v1/customers/${OTHER}`)).toBe(403);
      expect(await status(token, 'GET', `/api/v1/customers/${OTHER}/users`)).toBe(403);
      const listed = await as(token)('GET', '/api/v1/customers');
      expect((listed.body as { value: Array<{ shortName: string }> }).value.map((c) => c.shortName)).toEqual([
        OWN,
      ]);
    },
  );

  it("is a customer admin only, whatever roles the customer's tenant put in its token", async () => {
    const token = await stack.token({
      tenantId: OWN_TENANT,
      subject: CUSTOMER_ADMIN,
      roles: ['provider-admin', 'channel-admin'],
    });
    expect(await status(token, 'GET', `/api/v1/customers/${OTHER}`)).toBe(403);
    expect(await status(token, 'GET', '/api/v1/settings/license')).toBe(403);
    expect(
      await status(token, 'POST', '/api/v1/customers', {
        fullName: 'Mine Ltd',
        shortName: 'Mine',
        licenseType: 'hosted-essentials',
      }),
    ).toBe(403);
    expect(await status(token, 'DELETE', `/api/v1/customers/${OWN}?dryRun=true`)).toBe(403);
  });

  it('reaches nothing when the grant is for the same object id in another tenant', async () => {
    // OWN's grant names the user by object id; the same id from OTHER's tenant is not that user.
    const token = await stack.token({ tenantId: OTHER_TENANT, subject: CUSTOMER_ADMIN, roles: [] });
    expect(await status(token, 'GET', `/api/v1/customers/${OWN}`)).toBe(403);
    expect(await status(token, 'GET', `/api/v1/customers/${OTHER}`)).toBe(403);
    const listed = await as(token)('GET', '/api/v1/customers');
    expect((listed.body as { value: unknown[] }).value).toEqual([]);
  });

  it("is not signed in at all from a tenant that is no customer's", async () => {
    const token = await stack.token({ tenantId: STRANGER_TENANT, subject: CUSTOMER_ADMIN, roles: [] });
    const answered = await as(token)('GET', `/api/v1/customers/${OWN}`);
    expect(answered.status).toBe(401);
    expect(answered.body).toMatchObject({ code: 'unauthenticated' });
  });
});

describe("the wizard's Grant Admin Access to", () => {
  it('becomes a grant once replication has found the user, who may then sign in from the tenant', async () => {
    const { access, mirror } = stack.services;
    const upn = 'it.admin@ownco.example';
    const userId = '77777777-7777-4777-8777-777777777777';
    await access.requestCustomerAdmin({
      customerId: OWN,
      userPrincipalName: upn,
      requestedAt: new Date().toISOString(),
      requestedBy: 'provider operator',
    });
    const resolve = () => resolvePendingAdmins({ access, directory: mirrorDirectory(mirror) }, OWN);
    const token = await stack.token({ tenantId: OWN_TENANT, subject: userId, roles: [] });

    // Not replicated yet: nothing granted, the request waits.
    expect(await resolve()).toBe(0);
    expect(await status(token, 'GET', `/api/v1/customers/${OWN}`)).toBe(403);

    await mirror.putUsers(
      OWN,
      [mirrorUser({ id: userId, userPrincipalName: 'IT.Admin@ownco.example' })],
      'test',
    );
    expect(await resolve()).toBe(1);
    expect(await status(token, 'GET', `/api/v1/customers/${OWN}`)).toBe(200);
    expect((await access.customerAdmins(OWN)).map((a) => [a.userId, a.grantedBy])).toContainEqual([
      userId,
      'provider operator',
    ]);
    expect(await access.pendingCustomerAdmins(OWN)).toEqual([]);
    expect(await resolve()).toBe(0);
  });
});
