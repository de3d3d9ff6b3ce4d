import type { Client } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, demoGroupId } from '../../dev/sandbox/demo-data.js';
import { createGraphClient } from '../../shared/m365/graph-client.js';
import { type SandboxFixture, startFixture } from './fixtures.js';

/**
 * Groups of an ordinary (demo) tenant as Graph shows them to the customer's own app registration, and the control
 * routes that change them behind the product's back.
 */

const contoso = DEMO.customers.contoso;
const GROUP_SELECT = 'displayName,description,mailEnabled,securityEnabled,mailNickname,groupTypes,members';

interface DeltaPage {
  readonly value: Array<Record<string, unknown>>;
  readonly '@odata.nextLink'?: string;
  readonly '@odata.deltaLink'?: string;
}

let f: SandboxFixture;
let graph: Client;

beforeAll(async () => {
  f = await startFixture();
  const app = contoso.appRegistration;
  graph = createGraphClient({
    baseUrl: `${f.sandbox.url}/graph`,
    credential: f.credential(contoso.tenantId, app.clientId, app.clientSecret),
    transport: f.transport,
  });
});
afterAll(() => f.close());

async function control(method: string, path: string, body?: unknown) {
  const response = await f.transport.fetch(
    `${f.sandbox.url}/_sandbox/scale/tenants/${contoso.tenantId}${path}`,
    {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
  );
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/** Every page of a delta round; returns the items and the round's deltaLink. */
async function deltaRound(
  start: string,
): Promise<{ items: Array<Record<string, unknown>>; deltaLink: string }> {
  const items: Array<Record<string, unknown>> = [];
  let link: string | undefined = start;
  for (let pages = 0; link; pages++) {
    if (pages > 20) throw new Error('The delta round does not end.');
    const page = (await graph.api(link).header('Prefer', 'odata.maxpagesize=2').get()) as DeltaPage;
    items.push(...page.value);
    if (page['@odata.deltaLink']) return { items, deltaLink: page['@odata.deltaLink'] };
    link = page['@odata.nextLink'];
  }
  throw new Error('The delta round ended without a deltaLink.');
}

const userId = (upn: string) => {
  const user = [...f.sandbox.state.requireTenant(contoso.tenantId).users.values()].find(
    (u) => u.userPrincipalName === upn,
  );
  if (!user) throw new Error(`No demo user ${upn}.`);
  return user.id;
};

describe('groups of an ordinary tenant through Graph', () => {
  let deltaLink: string;

  it('lists the demo security groups with their members in a first /groups/delta round', async () => {
    const round = await deltaRound(`/groups/delta?$select=${GROUP_SELECT}`);
    deltaLink = round.deltaLink;
    const sales = round.items.find((g) => g.id === demoGroupId(contoso.tenantId, 'sales-voice'));
    expect(sales).toEqual({
      id: demoGroupId(contoso.tenantId, 'sales-voice'),
      displayName: 'Sales Voice',
      description: 'Sales staff with Teams Phone',
      mailEnabled: false,
      securityEnabled: true,
      mailNickname: 'sales-voice',
      groupTypes: [],
      'members@delta': expect.any(Array),
    });
    const members = (sales?.['members@delta'] as Array<{ id: string }>).map((m) => m.id);
    expect(members).toHaveLength(4);
    expect(members).toContain(userId(contoso.user.userPrincipalName));
    expect(round.items.map((g) => g.displayName).sort()).toEqual(['Sales Voice', 'Support Voice']);
  });

  it('reports a new group, membership added and removed, and a deleted group at the next round', async () => {
    const adele = userId(contoso.user.userPrincipalName);
    const admin = userId(contoso.admin.userPrincipalName);
    const created = await control('POST', '/groups', {
      displayName: 'Night Shift Voice',
      description: 'Agents on the night shift',
      members: [contoso.admin.userPrincipalName],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      displayName: 'Night Shift Voice',
      mailEnabled: false,
      securityEnabled: true,
      mailNickname: 'NightShiftVoice',
      groupTypes: [],
      members: [admin],
    });
    const nightShift = created.body?.id as string;
    const support = demoGroupId(contoso.tenantId, 'support-voice');
    const sales = demoGroupId(contoso.tenantId, 'sales-voice');
    expect((await control('PUT', `/groups/${support}/members/${adele}`)).status).toBe(204);
    expect((await control('DELETE', `/groups/${sales}/members/${adele}`)).status).toBe(204);

    const changes = await deltaRound(deltaLink);
    deltaLink = changes.deltaLink;
    expect(changes.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: nightShift,
          displayName: 'Night Shift Voice',
          'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: admin }],
        }),
        { id: support, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: adele }] },
        {
          id: sales,
          'members@delta': [
            { '@odata.type': '#microsoft.graph.user', id: adele, '@removed': { reason: 'deleted' } },
          ],
        },
      ]),
    );
    expect(changes.items).toHaveLength(3);

    expect((await control('DELETE', `/groups/${nightShift}`)).status).toBe(204);
    const removal = await deltaRound(deltaLink);
    expect(removal.items).toEqual([
      { '@odata.type': '#microsoft.graph.group', id: nightShift, '@removed': { reason: 'changed' } },
    ]);
  });

  it('pages GET /groups/{id}/members', async () => {
    const sales = demoGroupId(contoso.tenantId, 'sales-voice');
    const first = (await graph.api(`/groups/${sales}/members`).top(2).get()) as DeltaPage;
    expect(first.value).toHaveLength(2);
    expect(first.value[0]).toMatchObject({
      '@odata.type': '#microsoft.graph.user',
      displayName: expect.any(String),
    });
    const second = (await graph.api(first['@odata.nextLink'] ?? '').get()) as DeltaPage;
    const ids = [...first.value, ...second.value].map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      [...(f.sandbox.state.requireTenant(contoso.tenantId).groups.get(sales)?.members ?? [])].sort(),
    );
  });

  it('drops a user deleted from the directory from its groups, as a removed member', async () => {
    const support = demoGroupId(contoso.tenantId, 'support-voice');
    const { deltaLink: start } = await deltaRound(`/groups/delta?$deltatoken=latest&$select=${GROUP_SELECT}`);
    const [member] = [
      ...(f.sandbox.state.requireTenant(contoso.tenantId).groups.get(support)?.members ?? []),
    ];
    await graph.api(`/users/${member}`).delete();
    const changes = await deltaRound(start);
    expect(changes.items).toEqual([
      {
        id: support,
        'members@delta': [
          { '@odata.type': '#microsoft.graph.user', id: member, '@removed': { reason: 'deleted' } },
        ],
      },
    ]);
  });
});

/** The same deltaLink with its token handed out `days` ago (the token is the sandbox's own base64url JSON). */
function agedLink(link: string, days: number): string {
  const url = new URL(link);
  const token = url.searchParams.get('$deltatoken') ?? '';
  const state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  const aged = { ...state, t: Date.now() - days * 24 * 3600 * 1000 };
  url.searchParams.set('$deltatoken', Buffer.from(JSON.stringify(aged)).toString('base64url'));
  return url.toString();
}

describe('delta links Graph no longer honours', () => {
  it.each(['users', 'groups'])(
    'a %s deltaLink older than seven days answers 400 syncStateNotFound, one six days old still works',
    async (kind) => {
      const { deltaLink } = await deltaRound(`/${kind}/delta?$deltatoken=latest`);
      await expect(deltaRound(agedLink(deltaLink, 6))).resolves.toMatchObject({ items: [] });
      const refused = await graph
        .api(agedLink(deltaLink, 8))
        .get()
        .then(
          () => null,
          (error: unknown) => error as { statusCode: number; code: string; message: string },
        );
      expect(refused).toMatchObject({
        statusCode: 400,
        code: 'syncStateNotFound',
        message:
          'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
      });
    },
  );
});

describe('the group control routes', () => {
  it('answer 404 with a body naming the unknown group or user', async () => {
    const sales = demoGroupId(contoso.tenantId, 'sales-voice');
    const noGroup = await control(
      'PUT',
      `/groups/00000000-0000-4000-8000-000000000000/members/${contoso.admin.userPrincipalName}`,
    );
    expect(noGroup).toEqual({
      status: 404,
      body: {
        error: {
          code: 'NotFound',
          message: `Group '00000000-0000-4000-8000-000000000000' does not exist in tenant '${contoso.tenantId}'.`,
        },
      },
    });
    const noUser = await control('DELETE', `/groups/${sales}/members/nobody@contoso.com`);
    expect(noUser).toEqual({
      status: 404,
      body: {
        error: {
          code: 'NotFound',
          message: `User 'nobody@contoso.com' does not exist in tenant '${contoso.tenantId}'.`,
        },
      },
    });
    expect((await control('DELETE', '/groups/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('refuse a group without a display name or with a mailNickname Graph would refuse', async () => {
    expect(await control('POST', '/groups', { description: 'no name' })).toMatchObject({
      status: 400,
      body: { error: { code: 'InvalidRequest' } },
    });
    expect(await control('POST', '/groups', { displayName: 'Bad', mailNickname: 'bad nick' })).toMatchObject({
      status: 400,
      body: {
        error: { code: 'Refused', message: expect.stringContaining("mailNickname 'bad nick' is invalid") },
      },
    });
  });

  it('change a user’s phones, which /users/delta then reports', async () => {
    const adele = userId(contoso.user.userPrincipalName);
    const { deltaLink } = await deltaRound('/users/delta?$deltatoken=latest');
    const patched = await control('PATCH', `/users/${contoso.user.userPrincipalName}`, {
      businessPhones: ['+1 425 555 0199'],
      mobilePhone: '+1 206 555 0199',
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({
      id: adele,
      businessPhones: ['+1 425 555 0199'],
      mobilePhone: '+1 206 555 0199',
    });
    const changes = await deltaRound(deltaLink);
    expect(changes.items).toEqual([
      expect.objectContaining({
        id: adele,
        businessPhones: ['+1 425 555 0199'],
        mobilePhone: '+1 206 555 0199',
      }),
    ]);
  });
});
