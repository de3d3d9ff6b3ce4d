import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { createAzureDnsZone } from '../../shared/dns/azure-dns.js';
import { createGraphClient, getOrganization } from '../../shared/m365/graph-client.js';
import {
  createDomain,
  deleteDomain,
  deleteUser,
  deleteUserPermanently,
  ensureUser,
  findDeletedUser,
  getDomain,
  getUser,
  getVerificationTxt,
  GraphRequestError,
  verifyDomain,
  visibleUser,
} from '../../shared/m365/graph-domains.js';
import {
  assignFirstFreeLicense,
  type EligiblePlan,
  listSubscribedSkus,
  NO_LICENSE_MESSAGE,
  NoLicenseAvailableError,
} from '../../shared/m365/graph-licenses.js';
import { sandboxProfile } from '../../dev/sandbox/profile.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';

const { contoso, fabrikam } = DEMO.customers;
const { provider } = DEMO;

const PLANS: EligiblePlan[] = [
  { name: 'Office 365 E5', skuPartNumbers: ['ENTERPRISEPREMIUM'] },
  { name: 'E3 with Phone System', skuPartNumbers: ['ENTERPRISEPACK', 'MCOEV'] },
  { name: 'E1 with Phone System', skuPartNumbers: ['STANDARDPACK', 'MCOEV'] },
];

describe('Graph domains, users and licenses against the sandbox', () => {
  let f: SandboxFixture;
  const graph = (tenantId: string = contoso.tenantId) =>
    createGraphClient({
      baseUrl: `${f.sandbox.url}/graph`,
      credential: f.credential(tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret),
      transport: f.transport,
    });
  const providerZone = () =>
    createAzureDnsZone({
      endpoint: `${f.sandbox.url}/arm`,
      credential: f.credential(provider.tenantId, provider.dnsApp.clientId, provider.dnsApp.clientSecret),
      transport: f.transport,
      subscriptionId: provider.dns.subscriptionId,
      resourceGroup: provider.dns.resourceGroup,
      zone: provider.dns.zone,
    });

  beforeAll(async () => {
    f = await startFixture();
  });
  afterEach(() => f.sandbox.reset());
  afterAll(() => f.close());

  it('creates a domain, verifies it once the TXT record is in the provider zone, and then deletes it', async () => {
    const client = graph();
    const zone = providerZone();
    const name = `contoso.${provider.dns.zone}`;

    const created = await createDomain(client, name);
    expect(created).toMatchObject({
      id: name,
      isVerified: false,
      authenticationType: 'Managed',
      isDefault: false,
    });
    await expect(createDomain(client, name)).resolves.toMatchObject({ id: name, isVerified: false });
    const duplicate = await client
      .api('/domains')
      .post({ id: name })
      .catch((e: unknown) => e);
    expect(duplicate).toMatchObject({ statusCode: 400, code: 'Request_BadRequest' });

    const txt = await getVerificationTxt(client, name);
    expect(txt).toEqual({ label: name, text: expect.stringMatching(/^MS=ms\d{8}$/), ttl: 3600 });
    await expect(getVerificationTxt(client, name)).resolves.toEqual(txt);

    const early = await verifyDomain(client, name);
    expect(early.verified).toBe(false);
    expect(early.message).toMatch(/verification failed/i);
    await expect(createUserOn(name)).rejects.toMatchObject({ code: 'Request_BadRequest', status: 400 });

    const relativeName = zone.relativeNameOf(txt.label);
    await zone.upsertTxt(relativeName, [txt.text], txt.ttl);
    await expect(verifyDomain(client, name)).resolves.toEqual({ verified: true });
    await expect(verifyDomain(client, name)).resolves.toEqual({ verified: true });
    await expect(getDomain(client, name)).resolves.toMatchObject({ isVerified: true, isRoot: true });
    const organization = await getOrganization(client);
    expect(organization.verifiedDomains).toContainEqual(
      expect.objectContaining({ name, isDefault: false, isInitial: false }),
    );
    await zone.deleteRecord('TXT', relativeName);
    await zone.upsertA(relativeName, ['51.124.43.46'], 3600);

    const { user } = await createUserOn(name);
    const inUse = await deleteDomain(client, name).catch((e: unknown) => e);
    expect(inUse).toBeInstanceOf(GraphRequestError);
    expect(inUse).toMatchObject({ status: 400, code: 'Request_BadRequest', transient: false });
    await deleteUser(client, user.id);
    await deleteUser(client, user.id);
    // Deleted, the user waits 30 days in deleted items with its UPN: the domain is still referenced.
    await expect(findDeletedUser(client, user.userPrincipalName)).resolves.toBe(user.id);
    await expect(deleteDomain(client, name)).rejects.toMatchObject({
      status: 400,
      code: 'Request_BadRequest',
    });
    await expect(deleteUserPermanently(client, user.userPrincipalName)).resolves.toBe(true);
    await expect(deleteUserPermanently(client, user.userPrincipalName)).resolves.toBe(false);
    await expect(findDeletedUser(client, user.userPrincipalName)).resolves.toBeNull();
    await deleteDomain(client, name);
    await deleteDomain(client, name);
    await expect(getDomain(client, name)).resolves.toBeNull();
    expect((await getOrganization(client)).verifiedDomains.map((d) => d.name)).not.toContain(name);
  });

  it('deletes a live user for good in one call, and keeps a deleted one restorable until then', async () => {
    const client = graph();
    const upn = `restorable@${contoso.defaultDomain}`;
    const { user } = await ensureUser(client, {
      userPrincipalName: upn,
      displayName: 'Restorable',
      usageLocation: 'US',
    });
    await deleteUser(client, upn);
    await expect(getUser(client, upn)).resolves.toBeNull();
    const restored = (await client.api(`/directory/deletedItems/${user.id}/restore`).post({})) as {
      id: string;
    };
    expect(restored.id).toBe(user.id);
    await expect(getUser(client, upn)).resolves.toMatchObject({ id: user.id });

    await expect(deleteUserPermanently(client, upn)).resolves.toBe(true);
    await expect(getUser(client, upn)).resolves.toBeNull();
    await expect(findDeletedUser(client, upn)).resolves.toBeNull();
    const gone = await client
      .api(`/directory/deletedItems/${user.id}/restore`)
      .post({})
      .catch((e: unknown) => e);
    expect(gone).toMatchObject({ statusCode: 404 });
  });

  it('refuses invalid names and domains verified in another tenant', async () => {
    await expect(createDomain(graph(), 'not a domain')).rejects.toMatchObject({ status: 400 });
    await expect(createDomain(graph(fabrikam.tenantId), contoso.defaultDomain)).rejects.toMatchObject({
      status: 409,
    });
    const list = (await graph().api('/domains').get()) as {
      value: Array<{ id: string; isVerified: boolean }>;
    };
    expect(list.value.map((d) => d.id)).toEqual([contoso.defaultDomain, contoso.initialDomain]);
  });

  it('ensures users idempotently and sets their usage location', async () => {
    const client = graph();
    const upn = `umpdns@${contoso.defaultDomain}`;
    const first = await ensureUser(client, {
      userPrincipalName: upn,
      displayName: 'UMPDNS',
      usageLocation: 'US',
    });
    expect(first).toMatchObject({ created: true, user: { userPrincipalName: upn, usageLocation: 'US' } });
    const second = await ensureUser(client, {
      userPrincipalName: upn,
      displayName: 'UMPDNS',
      usageLocation: 'GB',
    });
    expect(second).toMatchObject({ created: false, user: { id: first.user.id, usageLocation: 'GB' } });
    await expect(getUser(client, upn)).resolves.toMatchObject({ usageLocation: 'GB', accountEnabled: true });
    await deleteUser(client, upn);
    await expect(getUser(client, upn)).resolves.toBeNull();
  });

  it('assigns the first plan with free units, idempotently, and reports no license in the manual words', async () => {
    const client = graph();
    const skus = await listSubscribedSkus(client);
    expect(skus).toEqual([
      expect.objectContaining({
        skuPartNumber: 'ENTERPRISEPREMIUM',
        enabled: 25,
        consumed: 20,
        available: 5,
      }),
    ]);
    expect(skus[0]?.servicePlans).toContain('MCOEV');

    const { user } = await ensureUser(client, {
      userPrincipalName: `umpdns@${contoso.defaultDomain}`,
      displayName: 'UMPDNS',
      usageLocation: 'US',
    });
    await expect(assignFirstFreeLicense(client, user.id, PLANS)).resolves.toMatchObject({
      name: 'Office 365 E5',
    });
    await expect(assignFirstFreeLicense(client, user.id, PLANS)).resolves.toMatchObject({
      name: 'Office 365 E5',
    });
    expect((await listSubscribedSkus(client))[0]).toMatchObject({ consumed: 21, available: 4 });
    expect((await getUser(client, user.id))?.assignedLicenses).toEqual([
      { skuId: skus[0]?.skuId, disabledPlans: [] },
    ]);

    f.sandbox.state.directory.setSku(contoso.tenantId, 'ENTERPRISEPREMIUM', 21);
    const { user: other } = await ensureUser(client, {
      userPrincipalName: `second@${contoso.defaultDomain}`,
      displayName: 'Second',
      usageLocation: 'US',
    });
    const none = await assignFirstFreeLicense(client, other.id, PLANS).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(NoLicenseAvailableError);
    expect((none as Error).message).toBe(NO_LICENSE_MESSAGE);
    expect(NO_LICENSE_MESSAGE).toBe(
      'No License Plan Available! Make sure to free the license(s) for a plan and reload',
    );
  });

  it('needs every SKU of a plan (E3 with Teams Phone Standard) and a usage location', async () => {
    const client = graph(fabrikam.tenantId);
    const { user } = await ensureUser(client, {
      userPrincipalName: `umpdns@${fabrikam.defaultDomain}`,
      displayName: 'UMPDNS',
      usageLocation: 'GB',
    });
    await expect(assignFirstFreeLicense(client, user.id, PLANS)).resolves.toMatchObject({
      name: 'E3 with Phone System',
    });
    const skus = await listSubscribedSkus(client);
    expect(skus.map((s) => [s.skuPartNumber, s.consumed])).toEqual([
      ['ENTERPRISEPACK', 26],
      ['MCOEV', 3],
    ]);

    f.sandbox.state.directory.setSku(fabrikam.tenantId, 'MCOEV', 3);
    const { user: other } = await ensureUser(client, {
      userPrincipalName: `other@${fabrikam.defaultDomain}`,
      displayName: 'Other',
      usageLocation: 'GB',
    });
    await expect(assignFirstFreeLicense(client, other.id, PLANS)).rejects.toBeInstanceOf(
      NoLicenseAvailableError,
    );

    await client.api(`/users/${other.id}`).patch({ usageLocation: null });
    const noLocation = await client
      .api(`/users/${other.id}/assignLicense`)
      .post({ addLicenses: [{ skuId: skus[0]?.skuId, disabledPlans: [] }], removeLicenses: [] })
      .catch((e: unknown) => e);
    expect(noLocation).toMatchObject({
      statusCode: 400,
      code: 'Request_BadRequest',
      message: 'License assignment cannot be done for user with invalid usage location.',
    });
  });

  it('answers 403 without a write permission', async () => {
    const tenant = f.sandbox.state.requireTenant(contoso.tenantId);
    f.sandbox.state.consent(tenant.id, DEMO.tokenApp.clientId, {
      'https://graph.microsoft.com': ['Organization.Read.All', 'User.Read.All'],
    });
    await expect(createDomain(graph(), `x.${provider.dns.zone}`)).rejects.toMatchObject({
      status: 403,
      code: 'Authorization_RequestDenied',
    });
  });

  function createUserOn(domain: string) {
    return ensureUser(graph(), {
      userPrincipalName: `umpdns@${domain}`,
      displayName: 'UMPDNS',
      usageLocation: 'US',
    });
  }
});

describe('a just-created user under the reality profile (Entra ID replication lag, scaled to half a second)', () => {
  let f: SandboxFixture;
  const graph = () =>
    createGraphClient({
      baseUrl: `${f.sandbox.url}/graph`,
      credential: f.credential(contoso.tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret),
      transport: f.transport,
    });

  beforeAll(async () => {
    f = await startFixture({ profile: sandboxProfile('reality', 0.1) });
  });
  afterAll(() => f.close());

  it('answers 404 to GET, PATCH and assignLicense for a while, then shows the user', async () => {
    const client = graph();
    const upn = `lagging@${contoso.defaultDomain}`;
    const created = (await client.api('/users').post({
      accountEnabled: true,
      displayName: 'Lagging',
      mailNickname: 'lagging',
      userPrincipalName: upn,
      usageLocation: 'US',
      passwordProfile: { password: 'A-long-enough-password1' },
    })) as { id: string };
    const refused = (call: Promise<unknown>) =>
      call.then(
        () => null,
        (e: unknown) => e,
      );
    await expect(refused(client.api(`/users/${created.id}`).get())).resolves.toMatchObject({
      statusCode: 404,
    });
    await expect(
      refused(client.api(`/users/${upn}`).patch({ displayName: 'Still lagging' })),
    ).resolves.toMatchObject({
      statusCode: 404,
    });
    await expect(
      refused(client.api(`/users/${created.id}/assignLicense`).post({ addLicenses: [], removeLicenses: [] })),
    ).resolves.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
    await expect(visibleUser(client, created.id)).resolves.toMatchObject({ id: created.id });
  });

  it('the activation user is created and licensed in one go, waiting for Graph to show it instead of failing', async () => {
    const client = graph();
    const upn = `dnsactivation@${contoso.defaultDomain}`;
    const { user, created } = await ensureUser(client, {
      userPrincipalName: upn,
      displayName: 'DNS activation',
      usageLocation: 'US',
    });
    expect(created).toBe(true);
    const plan = await assignFirstFreeLicense(client, user.id, PLANS);
    expect(plan.name).toBe('Office 365 E5');
    // Asked again at once (a retried step), the taken UPN is found once Graph shows it: no second user, no failure.
    await expect(
      ensureUser(client, { userPrincipalName: upn, displayName: 'DNS activation', usageLocation: 'US' }),
    ).resolves.toMatchObject({ created: false, user: { id: user.id } });
  });
});
