import { GraphError } from '@microsoft/microsoft-graph-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import {
  createGraphClient,
  type GraphUser,
  getOrganization,
  listUsers,
} from '../../shared/m365/graph-client.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

const contoso = DEMO.customers.contoso;
const USERS_PATH = '/graph/v1.0/users';

describe('sandbox Graph through @microsoft/microsoft-graph-client', () => {
  let f: SandboxFixture;
  const graph = (tenantId: string = contoso.tenantId) =>
    createGraphClient({
      baseUrl: `${f.sandbox.url}/graph`,
      credential: f.credential(tenantId, DEMO.tokenApp.clientId, DEMO.tokenApp.clientSecret),
      transport: f.transport,
    });
  const graphRequests = (path: string) => f.sandbox.requests.list().filter((r) => r.path === path);

  beforeAll(async () => {
    f = await startFixture();
  });
  afterEach(() => {
    f.sandbox.faults.clear();
    f.sandbox.requests.clear();
  });
  afterAll(() => f.close());

  it('reads the organization of the token tenant, with its initial and default domains', async () => {
    const organization = await getOrganization(graph());
    expect(organization).toMatchObject({ id: contoso.tenantId, displayName: contoso.displayName });
    expect(organization.verifiedDomains).toEqual([
      expect.objectContaining({ name: contoso.defaultDomain, isDefault: true, isInitial: false }),
      expect.objectContaining({ name: contoso.initialDomain, isDefault: false, isInitial: true }),
    ]);
    const fabrikam = await getOrganization(graph(DEMO.customers.fabrikam.tenantId));
    expect(fabrikam.id).toBe(DEMO.customers.fabrikam.tenantId);
  });

  it('pages /users with @odata.nextLink, every user exactly once', async () => {
    const pages: GraphUser[][] = [];
    for await (const page of listUsers(graph(), { pageSize: 15 }).byPage()) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([15, 15, contoso.userCount - 30]);
    const ids = pages.flat().map((u) => u.id);
    const expected = [...(f.sandbox.state.tenant(contoso.tenantId)?.users.keys() ?? [])];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.toSorted()).toEqual(expected.toSorted());
    expect(graphRequests(USERS_PATH).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(graphRequests(USERS_PATH)[1]?.query).toMatch(/^\?\$top=15&\$skiptoken=/);
  });

  it("returns Graph's default property set, and $select adds the others", async () => {
    const [plain] = await first(listUsers(graph(), { pageSize: 1 }));
    expect(Object.keys(plain ?? {}).toSorted()).toEqual(
      [
        'businessPhones',
        'displayName',
        'givenName',
        'id',
        'jobTitle',
        'mail',
        'mobilePhone',
        'officeLocation',
        'preferredLanguage',
        'surname',
        'userPrincipalName',
      ].toSorted(),
    );
    const [selected] = await first(
      listUsers(graph(), { pageSize: 1, select: ['userPrincipalName', 'accountEnabled', 'usageLocation'] }),
    );
    expect(Object.keys(selected ?? {}).toSorted()).toEqual([
      'accountEnabled',
      'id',
      'usageLocation',
      'userPrincipalName',
    ]);
    expect(selected?.usageLocation).toBe('US');
  });

  it('reads one user by id or by UPN, and answers 404 Request_ResourceNotFound otherwise', async () => {
    const client = graph();
    const upn = `adele.vance@${contoso.defaultDomain}`;
    const byUpn = (await client.api(`/users/${upn}`).get()) as GraphUser;
    const byId = (await client.api(`/users/${byUpn.id}`).select(['department']).get()) as Record<
      string,
      unknown
    >;
    expect(byUpn.userPrincipalName).toBe(upn);
    expect(byId).toEqual({
      '@odata.context': `${f.sandbox.url}/graph/v1.0/$metadata#users(department)/$entity`,
      department: 'Sales',
    });
    const missing = await client
      .api('/users/nobody@contoso.com')
      .get()
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(GraphError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
  });

  it('refuses $top outside 1-999 with 400', async () => {
    for (const top of [0, 1000]) {
      await expect(first(listUsers(graph(), { pageSize: top }))).rejects.toMatchObject({
        statusCode: 400,
        code: 'Request_UnsupportedQuery',
      });
    }
  });

  it('answers 401 InvalidAuthenticationToken without a token or with one for another audience', async () => {
    const url = `${f.sandbox.url}${USERS_PATH}`;
    const anonymous = await f.transport.fetch(url);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });

    const apiToken = await f.sandbox.issueToken({
      tenantId: contoso.tenantId,
      audience: DEMO.provider.apiAudience,
    });
    const wrongAudience = await f.transport.fetch(url, { headers: { authorization: `Bearer ${apiToken}` } });
    expect(wrongAudience.status).toBe(401);
    expect(await wrongAudience.json()).toMatchObject({
      error: {
        code: 'InvalidAuthenticationToken',
        message: 'Access token validation failure. Invalid audience.',
      },
    });
  });

  it('survives a 429 on /users by honouring Retry-After, and still returns every user once', async () => {
    f.sandbox.faults.add({
      method: 'GET',
      pathPattern: '^/graph/v1\\.0/users$',
      kind: 'status',
      status: 429,
      times: 1,
    });
    const users = await all(listUsers(graph(), { pageSize: 20 }));
    expect(new Set(users.map((u) => u.id)).size).toBe(contoso.userCount);
    expect(users).toHaveLength(contoso.userCount);

    const seen = graphRequests(USERS_PATH);
    expect(seen.map((r) => [r.status, r.fault])).toEqual([
      [429, 'status'],
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ]);
    const [throttled, retried] = seen;
    expect(Date.parse(retried?.time ?? '') - Date.parse(throttled?.time ?? '')).toBeGreaterThanOrEqual(900);
  });

  it('sends 429s with Retry-After and a Graph error body', async () => {
    f.sandbox.faults.add({ pathPattern: '^/graph/', kind: 'status', status: 429, retryAfterSeconds: 7 });
    const response = await f.transport.fetch(`${f.sandbox.url}/graph/v1.0/organization`);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toMatchObject({
      error: { code: 'TooManyRequests', message: expect.any(String) },
    });
  });

  it('retries a 503 and surfaces a 500 as a GraphError', async () => {
    f.sandbox.faults.add({
      pathPattern: '/organization$',
      kind: 'status',
      status: 503,
      retryAfterSeconds: 0,
      times: 2,
    });
    await expect(getOrganization(graph())).resolves.toMatchObject({ id: contoso.tenantId });
    expect(graphRequests('/graph/v1.0/organization').map((r) => r.status)).toEqual([503, 503, 200]);

    f.sandbox.faults.add({ pathPattern: '/organization$', kind: 'status', status: 500, times: 1 });
    await expect(getOrganization(graph())).rejects.toMatchObject({
      statusCode: 500,
      code: 'InternalServerError',
    });
    await expect(getOrganization(graph())).resolves.toMatchObject({ id: contoso.tenantId });
  });

  it('drops the connection without a response for a drop fault', async () => {
    const fault = f.sandbox.faults.add({
      method: 'GET',
      pathPattern: '/organization$',
      kind: 'drop',
      times: 1,
    });
    await expect(getOrganization(graph())).rejects.toThrow();
    expect(graphRequests('/graph/v1.0/organization')).toEqual([
      expect.objectContaining({ status: null, fault: 'drop' }),
    ]);
    expect(f.sandbox.faults.list()).toEqual([
      expect.objectContaining({ id: fault.id, hits: 1, remaining: 0 }),
    ]);
    await expect(getOrganization(graph())).resolves.toMatchObject({ id: contoso.tenantId });
  });

  it('delays matching requests by a latency fault', async () => {
    f.sandbox.faults.add({ pathPattern: '/organization$', kind: 'latency', latencyMs: 300, times: 1 });
    const client = graph();
    await getOrganization(client);
    const [delayed] = graphRequests('/graph/v1.0/organization');
    expect(delayed).toMatchObject({ status: 200, fault: 'latency' });
    expect(delayed?.durationMs).toBeGreaterThanOrEqual(290);
  });
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}

/** The first page only: one request. */
async function first<T>(items: { byPage(): AsyncIterableIterator<T[]> }): Promise<T[]> {
  const page = await items.byPage().next();
  return page.done ? [] : page.value;
}
