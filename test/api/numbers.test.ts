import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { mirrorUser } from '../support/mirror-user.js';
import { sbcSite } from '../support/sbc-site.js';
import { grantRoles, OTHER, OWN, type Role, roleTokens } from '../support/roles.js';

/**
 * The number inventory over HTTP, as each kind of admin meets it: ranges are exclusive on their SBC across
 * customers, and a refusal never tells a customer admin whose range it ran into.
 */

let stack: MemoryStack;
let as: Record<Role, ReturnType<typeof apiClient>>;

const ranges = (customerId: string) => `/api/v1/customers/${customerId}/number-ranges`;
const body = (start: string, end: string, name = 'Branch') => ({ name, start, end, siteName: 'Site1' });

beforeAll(async () => {
  stack = await startMemoryStack();
  const tokens = await roleTokens(stack);
  as = {
    provider: apiClient(stack.api, async () => tokens.provider),
    'channel-admin': apiClient(stack.api, async () => tokens['channel-admin']),
    'customer-admin': apiClient(stack.api, async () => tokens['customer-admin']),
  };
  for (const shortName of [OWN, OTHER]) {
    const created = await as.provider('POST', '/api/v1/customers', {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  await grantRoles(stack, as.provider);
  for (const [name, ip] of [
    ['sbc-a', '192.0.2.10'],
    ['sbc-b', '192.0.2.11'],
  ] as const) {
    const sbc = await as.provider('POST', '/api/v1/settings/sbcs', {
      json: { name, ipAddress: ip, gatewayUser: 'admin', gatewayPassword: 'secret-1' },
    });
    expect(sbc.status, JSON.stringify(sbc.body)).toBe(201);
    const region = await as.provider('POST', '/api/v1/settings/regions', {
      json: { name: `region-${name}`, sbcId: name, fqdn: `${name}.example.com`, ipAddress: ip },
    });
    expect(region.status, JSON.stringify(region.body)).toBe(201);
  }
  await stack.services.sites.create(sbcSite(OWN, 'region-sbc-a'));
  await stack.services.sites.create(sbcSite(OTHER, 'region-sbc-a'));
  await stack.services.sites.create(sbcSite('FarCo', 'region-sbc-b'));
}, 120_000);
afterAll(async () => stack?.close());

describe('number ranges over HTTP', () => {
  it('refuses an overlap across customers on one SBC, naming the other range only to who may see it', async () => {
    const other = await as.provider('POST', ranges(OTHER), {
      json: body('+442079460000', '+442079460099', 'Secret HQ'),
    });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const attempt = body('+442079460090', '+442079460190');

    const customerAdmin = await as['customer-admin']('POST', ranges(OWN), { json: attempt });
    expect(customerAdmin.status).toBe(409);
    expect(customerAdmin.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(customerAdmin.body).toMatchObject({ code: 'range_overlap' });
    expect(JSON.stringify(customerAdmin.body)).not.toMatch(/OtherCo|Secret HQ|r-[0-9a-f]{16}/i);

    // OTHER is not in the channel admin's channel either.
    const channel = await as['channel-admin']('POST', ranges(OWN), { json: attempt });
    expect(JSON.stringify(channel.body)).not.toMatch(/OtherCo|Secret HQ/i);

    const provider = await as.provider('POST', ranges(OWN), { json: attempt });
    expect(provider.status).toBe(409);
    expect((provider.body as { detail: string }).detail).toMatch(/"Secret HQ".*customer "OtherCo"/);
  });

  it('lets a customer admin manage its own ranges with ETags, and lists them paged', async () => {
    const call = as['customer-admin'];
    const created = await call('POST', ranges(OWN), {
      json: body('+442079461000', '+442079461009', 'Napoli'),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (created.body as { id: string }).id;
    expect(created.body).toMatchObject({ sbcId: 'sbc-a', size: 10, availableNumbers: 10 });
    await call('POST', ranges(OWN), { json: body('+442079462000', '+442079462009', 'Roma') });

    const stale = await call('PUT', `${ranges(OWN)}/${id}`, {
      json: body('+442079461000', '+442079461019', 'Napoli'),
      headers: { 'if-match': '"stale"' },
    });
    expect(stale.status).toBe(412);
    const saved = await call('PUT', `${ranges(OWN)}/${id}`, {
      json: body('+442079461000', '+442079461019', 'Napoli'),
      headers: { 'if-match': created.headers.get('etag') ?? '' },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ end: '+442079461019', size: 20 });

    const first = await call('GET', `${ranges(OWN)}?top=1`);
    expect(first.body).toMatchObject({ value: [{ name: 'Napoli' }] });
    const next = (first.body as { nextLink: string }).nextLink;
    expect((await call('GET', next)).body).toMatchObject({ value: [{ name: 'Roma' }], nextLink: null });
  });

  it('answers free numbers skipping held and reserved ones, and refuses deleting what is in use', async () => {
    const call = as['customer-admin'];
    const created = await call('POST', ranges(OWN), {
      json: body('+442079463000', '+442079463003', 'Milano'),
    });
    const id = (created.body as { id: string }).id;
    await stack.services.mirror.putUsers(
      OWN,
      [
        mirrorUser({
          id: 'u1',
          userPrincipalName: 'ann@ownco.example',
          displayName: 'Ann Lee',
          lineUri: 'tel:+442079463000',
        }),
      ],
      'test',
    );
    const reserved = await call('POST', `/api/v1/customers/${OWN}/reserved-numbers`, {
      json: { lineUri: '442079463001', reason: 'Temporary employee' },
    });
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(201);
    expect(reserved.body).toMatchObject({
      lineUri: 'tel:+442079463001',
      activeToday: true,
      expireDate: null,
    });

    const next = await call('GET', `${ranges(OWN)}/${id}/next-free-number`);
    expect(next.body).toEqual({ rangeId: id, lineUri: 'tel:+442079463002' });
    const free = await call('GET', `${ranges(OWN)}/${id}/available-numbers?top=1`);
    expect(free.body).toMatchObject({ value: [{ lineUri: 'tel:+442079463002' }] });
    const rest = await call('GET', (free.body as { nextLink: string }).nextLink);
    expect(rest.body).toEqual({ value: [{ lineUri: 'tel:+442079463003' }], nextLink: null });

    const refused = await call('DELETE', `${ranges(OWN)}/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'range_in_use' });
    expect((refused.body as { detail: string }).detail).toContain('Ann Lee (ann@ownco.example)');
  });

  it('answers a bad number as problem+json with the manual’s rule', async () => {
    const bad = await as.provider('POST', `/api/v1/customers/${OWN}/reserved-numbers`, {
      json: { lineUri: 'tel:++97' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    expect(JSON.stringify(bad.body)).toContain('up to 17 digits');
  });
});
