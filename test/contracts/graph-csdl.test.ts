import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/demo-data.js';
import { USER_SELECT as DOMAIN_USER_SELECT } from '../../shared/m365/graph-domains.js';
import { GROUP_SELECT, USER_SELECT } from '../../shared/replication/m365-reader.js';
import { type SandboxFixture, startFixture } from '../sandbox/fixtures.js';
import { type Csdl, loadGraphCsdl } from './csdl.js';
import { sendJson } from './sandbox-json.js';

/**
 * Every Graph route the product calls, with the product's own queries (shared/m365, shared/replication,
 * shared/users, shared/credentials), answered by the sandbox: each answer must be what the v1.0 CSDL allows, its
 * entity type found through `@odata.context` / `@odata.type` and base types: no property the type lacks, values
 * of the declared types and enum members, null only where nullable, and exactly the `$select`ed properties.
 */

const contoso = DEMO.customers.contoso;
const csdl: Csdl = loadGraphCsdl();

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** What is wrong with a Graph answer as the CSDL sees it; `select` is the request's `$select`, `expand` its nested ones. */
function problemsOf(
  body: Record<string, unknown>,
  options: { select?: readonly string[]; expand?: Readonly<Record<string, readonly string[]>> } = {},
): string[] {
  const context = body['@odata.context'];
  if (typeof context !== 'string') return ['no @odata.context'];
  const target = csdl.resolveContext(context);
  const lower = (names: readonly string[]) => names.map((n) => n.toLowerCase()).toSorted();
  const problems: string[] = [];
  if (options.select && lower(target.select ?? []).join() !== lower(options.select).join()) {
    problems.push(
      `@odata.context selects (${String(target.select)}), the request (${options.select.join()})`,
    );
  }
  let items: unknown[] = [body];
  if (target.collection) {
    const extra = Object.keys(body).filter(
      (k) => !['@odata.context', '@odata.nextLink', '@odata.deltaLink', 'value'].includes(k),
    );
    if (extra.length > 0) problems.push(`collection payload has ${extra.join(', ')}`);
    if (!Array.isArray(body.value)) return [...problems, 'collection payload without a value array'];
    items = body.value;
  }
  items.forEach((item, i) => {
    const at = target.collection ? `$.value[${i}]` : '$';
    problems.push(...csdl.validate(item, target.type, at));
    const entity = item as Record<string, unknown>;
    if (options.select && !('@removed' in entity)) {
      const keys = Object.keys(entity).filter((k) => !k.startsWith('@') && !k.includes('@'));
      if (lower(keys).join() !== lower(options.select).join()) {
        problems.push(`${at}: properties (${keys.join()}), $select (${options.select.join()})`);
      }
    }
    for (const [navigation, selected] of Object.entries(options.expand ?? {})) {
      const nested = entity[navigation];
      if (nested === undefined) problems.push(`${at}.${navigation}: not expanded`);
      else if (nested !== null) {
        const keys = Object.keys(nested as object).filter((k) => !k.startsWith('@'));
        if (lower(keys).join() !== lower(selected).join()) {
          problems.push(`${at}.${navigation}: properties (${keys.join()}), $select (${selected.join()})`);
        }
      }
    }
  });
  return problems;
}

describe('the sandbox Graph answers the product conform to the v1.0 CSDL', () => {
  let f: SandboxFixture;
  let token: string;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const url = path.startsWith('https:') ? path : `${f.sandbox.url}/graph/v1.0${path}`;
    const answer = await sendJson(f, token, method, url, body, headers);
    return { ...answer, body: (answer.body ?? {}) as Record<string, unknown> } satisfies Answer;
  };
  const ok = async (
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const answer = await call(init.method ?? 'GET', path, init.body, init.headers);
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer;
  };
  const firstUserId = () =>
    [...(f.sandbox.state.tenant(contoso.tenantId)?.users.keys() ?? [])].toSorted()[0] ?? '';

  beforeAll(async () => {
    f = await startFixture();
    // The roles a customer's app registration holds (DEMO.appRegistrationGraphRoles, shared/credentials).
    token = await f.sandbox.issueToken({
      tenantId: contoso.tenantId,
      audience: 'https://graph.microsoft.com',
      roles: [...DEMO.appRegistrationGraphRoles],
    });
  });
  afterAll(() => f.close());

  it('GET /organization, plain (getOrganization) and $select=id (permission probe)', async () => {
    expect(problemsOf((await ok('/organization')).body)).toEqual([]);
    expect(problemsOf((await ok('/organization?$select=id')).body, { select: ['id'] })).toEqual([]);
  });

  it('GET /users: the probe, a page and the next page', async () => {
    expect(problemsOf((await ok('/users?$top=1&$select=id')).body, { select: ['id'] })).toEqual([]);
    const page = await ok('/users?$top=5');
    expect(problemsOf(page.body)).toEqual([]);
    expect(problemsOf((await ok(String(page.body['@odata.nextLink']))).body)).toEqual([]);
  });

  it('GET /users/{id or UPN} with the product selects (getUser, the usage location change)', async () => {
    const select = DOMAIN_USER_SELECT.split(',');
    const byUpn = await ok(
      `/users/${encodeURIComponent(contoso.admin.userPrincipalName)}?$select=${DOMAIN_USER_SELECT}`,
    );
    expect(problemsOf(byUpn.body, { select })).toEqual([]);
    const byId = await ok(`/users/${firstUserId()}?$select=usageLocation`);
    expect(problemsOf(byId.body, { select: ['usageLocation'] })).toEqual([]);
  });

  it('POST /users, PATCH /users/{id}, POST assignLicense, DELETE /users/{id} (activation user)', async () => {
    const created = await ok('/users', {
      method: 'POST',
      body: {
        accountEnabled: true,
        displayName: 'Contract Activation',
        mailNickname: 'contract.activation',
        userPrincipalName: `contract.activation@${contoso.initialDomain}`,
        usageLocation: 'US',
        passwordProfile: { forceChangePasswordNextSignIn: true, password: 'Contract-Test-Password-1!' },
      },
    });
    expect(created.status).toBe(201);
    expect(problemsOf(created.body)).toEqual([]);
    const id = String(created.body.id);
    expect((await ok(`/users/${id}`, { method: 'PATCH', body: { usageLocation: 'GB' } })).status).toBe(204);
    const skus = (await ok('/subscribedSkus')).body.value as Array<{ skuId: string }>;
    const licensed = await ok(`/users/${id}/assignLicense`, {
      method: 'POST',
      body: { addLicenses: [{ skuId: skus[0]?.skuId, disabledPlans: [] }], removeLicenses: [] },
    });
    expect(problemsOf(licensed.body)).toEqual([]);
    expect((await ok(`/users/${id}`, { method: 'DELETE' })).status).toBe(204);
    // Removal then deletes it for good (deleteUserPermanently): 204, no body.
    expect((await ok(`/directory/deletedItems/${id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('GET /subscribedSkus (licences, replication)', async () => {
    expect(problemsOf((await ok('/subscribedSkus')).body)).toEqual([]);
  });

  it('the domain calls: list, add, read, verification records, verify, delete', async () => {
    expect(problemsOf((await ok('/domains?$select=id')).body, { select: ['id'] })).toEqual([]);
    expect(problemsOf((await ok('/domains')).body)).toEqual([]);
    const name = 'contract-test.contoso.com';
    expect(problemsOf((await ok('/domains', { method: 'POST', body: { id: name } })).body)).toEqual([]);
    expect(problemsOf((await ok(`/domains/${name}`)).body)).toEqual([]);
    const records = await ok(`/domains/${name}/verificationDnsRecords`);
    expect(problemsOf(records.body)).toEqual([]);
    expect(records.body.value).toEqual(
      expect.arrayContaining([expect.objectContaining({ '@odata.type': expect.any(String) })]),
    );
    const verify = await call('POST', `/domains/${name}/verify`, {});
    if (verify.status < 300) expect(problemsOf(verify.body)).toEqual([]);
    expect((await ok(`/domains/${name}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('GET /applications filtered by appId with the product select (listApplicationSecrets)', async () => {
    const { clientId } = contoso.appRegistration;
    const granted = token;
    // The provider's own registration reads its secrets with Application.Read.All (shared/m365/graph-client.ts).
    token = await f.sandbox.issueToken({
      tenantId: contoso.tenantId,
      audience: 'https://graph.microsoft.com',
      roles: ['Application.Read.All'],
    });
    const answer = await ok(
      `/applications?$filter=appId eq '${clientId}'&$select=appId,passwordCredentials`,
    ).finally(() => (token = granted));
    expect(problemsOf(answer.body, { select: ['appId', 'passwordCredentials'] })).toEqual([]);
  });

  it('GET /users/delta: latest, then a change, as replication reads it', async () => {
    const latest = await ok(`/users/delta?$deltatoken=latest&$select=${USER_SELECT.join(',')}`);
    expect(problemsOf(latest.body, { select: USER_SELECT })).toEqual([]);
    await ok(`/users/${firstUserId()}`, { method: 'PATCH', body: { displayName: 'Changed For Contract' } });
    const changes = await ok(String(latest.body['@odata.deltaLink']));
    expect((changes.body.value as unknown[]).length).toBeGreaterThan(0);
    expect(problemsOf(changes.body, { select: USER_SELECT })).toEqual([]);
  });

  it('GET /groups/delta with the product select and page size, to the end', async () => {
    let link = `/groups/delta?$select=${GROUP_SELECT.join(',')}`;
    for (let pages = 0; pages < 20; pages++) {
      const answer = await ok(link, { headers: { prefer: 'odata.maxpagesize=5' } });
      expect(problemsOf(answer.body)).toEqual([]);
      const next = answer.body['@odata.nextLink'];
      if (typeof next !== 'string') return;
      link = next;
    }
    throw new Error('groups/delta did not end in 20 pages');
  });

  it("GET /admin/teams/userConfigurations[/{id}] with the product's expand and filter", async () => {
    const expand = `user($select=${USER_SELECT.join(',')})`;
    const list = await ok(
      `/admin/teams/userConfigurations?$top=5&$expand=${expand}&$filter=modifiedDateTime ge 2020-01-01T00:00:00Z`,
    );
    expect(problemsOf(list.body, { expand: { user: USER_SELECT } })).toEqual([]);
    expect(problemsOf((await ok(`/admin/teams/userConfigurations?$top=1`)).body)).toEqual([]);
    const one = await ok(`/admin/teams/userConfigurations/${firstUserId()}?$expand=${expand}`);
    expect(problemsOf(one.body, { expand: { user: USER_SELECT } })).toEqual([]);
    expect(problemsOf((await ok(`/admin/teams/userConfigurations/${firstUserId()}`)).body)).toEqual([]);
  });

  it('numbers: assignNumber, its operation, numberAssignments, unassignNumber', async () => {
    const base = '/admin/teams/telephoneNumberManagement';
    const telephoneNumber = '+14255550101';
    const accepted = await ok(`${base}/numberAssignments/assignNumber`, {
      method: 'POST',
      body: {
        telephoneNumber,
        assignmentTargetId: firstUserId(),
        numberType: 'directRouting',
        assignmentCategory: 'primary',
      },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('retry-after')).toMatch(/^\d+$/);
    const operation = await ok(String(accepted.headers.get('location')));
    expect(problemsOf(operation.body)).toEqual([]);
    expect(problemsOf((await ok(`${base}/numberAssignments?$top=1`)).body)).toEqual([]);
    const unassigned = await ok(`${base}/numberAssignments/unassignNumber`, {
      method: 'POST',
      body: { telephoneNumber, numberType: 'directRouting' },
    });
    expect(unassigned.status).toBe(202);
  });
});

describe('the CSDL check itself', () => {
  const user = {
    '@odata.context': 'https://x/graph/v1.0/$metadata#users/$entity',
    id: 'a',
    displayName: 'A',
  };

  it('passes a user as Graph sends it', () => {
    expect(problemsOf(user)).toEqual([]);
  });

  it('fails a property the CSDL lacks, a wrong type, a null where not nullable and a bad enum member', () => {
    expect(problemsOf({ ...user, sandboxOnly: 1 })).toEqual([
      "$.sandboxOnly: microsoft.graph.user has no property 'sandboxOnly'",
    ]);
    expect(problemsOf({ ...user, accountEnabled: 'yes' })).toEqual([
      '$.accountEnabled: "yes" is not Edm.Boolean',
    ]);
    expect(problemsOf({ ...user, businessPhones: null })).toHaveLength(1);
    const operation = {
      '@odata.context':
        'https://x/graph/v1.0/$metadata#admin/teams/telephoneNumberManagement/operations/$entity',
      id: 'o',
      createdDateTime: '2026-01-01T00:00:00Z',
      status: 'done',
    };
    expect(problemsOf(operation)).toEqual([
      '$.status: "done" is not a member of microsoft.graph.longRunningOperationStatus (notStarted, running, succeeded, failed, unknownFutureValue)',
    ]);
  });

  it('fails an @odata.type outside the declared type, and a $select the answer does not keep', () => {
    expect(problemsOf({ ...user, '@odata.type': '#microsoft.graph.domain' })).toEqual([
      '$: @odata.type microsoft.graph.domain does not derive from microsoft.graph.user',
    ]);
    const selected = {
      '@odata.context': 'https://x/graph/v1.0/$metadata#users(id)/$entity',
      id: 'a',
      mail: null,
    };
    expect(problemsOf(selected, { select: ['id'] })).toEqual(['$: properties (id,mail), $select (id)']);
  });
});
