import { parse } from 'csv-parse/sync';
import { INDEX_BUCKETS } from '../../shared/replication/user-index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import type { MirrorNumberIndex } from '../../shared/users/ports.js';
import { apiClient } from '../support/api-client.js';
import { type CountingTables, countingTables } from '../support/counting-tables.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { mirrorUser } from '../support/mirror-user.js';

/**
 * The Users list, its export and a user's details (issue 11 items 1, 2, 5), against the memory twins: what an
 * operator sees when searching, filtering, sorting and paging a replicated directory.
 */
let stack: MemoryStack;
let counter: CountingTables;
let call: ReturnType<typeof apiClient>;

const CUSTOMER = 'UsersCo';
const BASE = `/api/v1/customers/${CUSTOMER}/users`;
const GATEWAY = 'sbc1.usersco.voice.example';
const PHONE_SYSTEM = 'e43b5b99-8dfb-405f-9987-dc307f34bcbd';
/** A license of a subscription the tenant no longer lists. */
const GONE_SKU = 'f30db892-07e9-47e9-837c-80727f46fd3d';
const GROUP = '44444444-4444-4444-8444-444444444444';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const user = (n: number, changes: Partial<MirrorUser> = {}): MirrorUser =>
  mirrorUser({ id: id(n), userPrincipalName: `user${n}@usersco.example`, ...changes });

type Row = {
  id: string;
  displayName: string | null;
  userPrincipalName: string;
  lineUri: string | null;
  onlinePstnGateway: string | null;
  siteLocation: string | null;
  pendingChanges: boolean;
  licenses: Array<{ skuId: string; skuPartNumber: string | null }>;
};
type Page = { value: Row[]; nextLink: string | null; lastSyncText: string };

const list = async (query = '') => {
  const response = await call('GET', `${BASE}${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as Page;
};
const names = (page: Page) => page.value.map((u) => u.displayName);

/** Every page of a query, following nextLink. */
async function all(query: string): Promise<Row[]> {
  const rows: Row[] = [];
  let link: string | null = `${BASE}${query}`;
  while (link) {
    const response = await call('GET', link);
    expect(response.status).toBe(200);
    const page = response.body as Page;
    rows.push(...page.value);
    link = page.nextLink;
  }
  return rows;
}

beforeAll(async () => {
  stack = await startMemoryStack({
    deliverQueues: false,
    wrapTables: (tables) => {
      counter = countingTables(tables);
      return counter.tables;
    },
  });
  call = apiClient(stack.api, () => stack.token());
  for (const [shortName, licenseType] of [
    [CUSTOMER, 'hosted-pro'],
    ['Essentials', 'hosted-essentials'],
  ]) {
    const created = await call('POST', '/api/v1/customers', {
      json: {
        fullName: `${shortName} Ltd`,
        shortName,
        licenseType,
        licensedUsers: licenseType === 'hosted-pro' ? 5 : 0,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  const { mirror } = stack.services;
  const routed = { enterpriseVoiceEnabled: true, policies: { OnlineVoiceRoutingPolicy: 'Unrestricted' } };
  await mirror.putUsers(
    CUSTOMER,
    [
      user(1, {
        ...routed,
        displayName: 'Anna Smith',
        userPrincipalName: 'anna.smith@usersco.example',
        lineUri: 'tel:+442071234001',
        assignedLicenses: [PHONE_SYSTEM, GONE_SKU],
      }),
      user(2, {
        ...routed,
        displayName: 'Annabel Jones',
        lineUri: 'tel:+442071234002;ext=2',
        department: '=HYPERLINK("http://evil.example")',
      }),
      user(3, { displayName: 'Bob Annan', lineUri: 'tel:+15550100' }),
      user(4, { displayName: 'carl Young', policies: { OnlineVoiceRoutingPolicy: 'International' } }),
      user(5, { displayName: 'Dana Ng' }),
      ...Array.from({ length: 20 }, (_, i) =>
        user(100 + i, { displayName: `Zed ${String(i).padStart(2, '0')}` }),
      ),
    ],
    'test',
  );
  await mirror.putVoiceObjects(
    CUSTOMER,
    [
      {
        policyName: 'OnlineVoiceRoutingPolicy',
        identity: 'Tag:Unrestricted',
        data: { OnlinePstnUsages: ['Unrestricted'] },
      },
      {
        policyName: 'OnlineVoiceRoute',
        identity: 'Unrestricted',
        data: { OnlinePstnUsages: ['Unrestricted'], OnlinePstnGatewayList: [GATEWAY], Priority: 1 },
      },
    ],
    [],
    'test',
  );
  await mirror.putSkus(
    CUSTOMER,
    [
      { skuId: PHONE_SYSTEM, skuPartNumber: 'MCOEV', capabilityStatus: 'Enabled', enabled: 25, consumed: 1 },
      {
        skuId: '06ebc4ee-1bb5-47dd-8120-11324bc54e06',
        skuPartNumber: 'SPE_E5',
        capabilityStatus: 'Enabled',
        enabled: 25,
        consumed: 0,
      },
    ],
    'test',
  );
  await mirror.putGroups(
    CUSTOMER,
    [{ id: GROUP, displayName: 'Sales', description: null, mailEnabled: false, securityEnabled: true }],
    'test',
  );
  await mirror.putMemberChunks(CUSTOMER, [{ groupId: GROUP, tag: '0', members: [id(1), id(3)] }], 'test');
}, 60_000);
afterAll(() => stack?.close());

describe('the Users list', () => {
  it('lists by display name with the manual columns and the derived gateway and site', async () => {
    const page = await list('?top=5');
    expect(names(page)).toEqual(['Anna Smith', 'Annabel Jones', 'Bob Annan', 'carl Young', 'Dana Ng']);
    expect(page.lastSyncText).toBe('[Last sync at: never]');
    expect(page.value[0]).toMatchObject({
      sipAddress: 'sip:anna.smith@usersco.example',
      lineUri: 'tel:+442071234001',
      onlineVoiceRoutingPolicy: 'Unrestricted',
      onlinePstnGateway: GATEWAY,
      siteLocation: 'sbc1',
      enterpriseVoiceEnabled: true,
      template: null,
      licenses: [
        { skuId: PHONE_SYSTEM, skuPartNumber: 'MCOEV' },
        { skuId: GONE_SKU, skuPartNumber: null },
      ],
      pendingChanges: false,
    });
    expect(page.nextLink).toMatch(/^\/api\/v1\/customers\/UsersCo\/users\?top=5&cursor=/);
  });

  it('pages every user exactly once', async () => {
    const rows = await all('?top=4');
    expect(rows).toHaveLength(25);
    expect(new Set(rows.map((r) => r.id)).size).toBe(25);
  });

  it('sorts by UPN and by Line URI (numbers by value, users without one last)', async () => {
    expect((await list('?sort=user-principal-name&top=2')).value.map((u) => u.userPrincipalName)).toEqual([
      'anna.smith@usersco.example',
      'user100@usersco.example',
    ]);
    const byNumber = await list('?sort=line-uri&top=4');
    expect(byNumber.value.map((u) => u.lineUri)).toEqual([
      'tel:+15550100',
      'tel:+442071234001',
      'tel:+442071234002;ext=2',
      null,
    ]);
  });

  it('searches word prefixes of the name, the UPN and the number, case-insensitively, once per user', async () => {
    expect(names(await list('?search=ANN'))).toEqual(['Anna Smith', 'Annabel Jones', 'Bob Annan']);
    expect(names(await list('?search=smith'))).toEqual(['Anna Smith']);
    expect(names(await list('?search=ann%20jo'))).toEqual(['Annabel Jones']);
    expect(names(await list(`?search=${encodeURIComponent('+44 20 71')}`))).toEqual([
      'Anna Smith',
      'Annabel Jones',
    ]);
    expect(names(await list('?search=user3'))).toEqual(['Bob Annan']);
    expect((await all('?search=ann&top=1')).map((u) => u.displayName)).toEqual([
      'Anna Smith',
      'Annabel Jones',
      'Bob Annan',
    ]);
  });

  it('searches one character across every bucket of the search words, in word order, paging across them', async () => {
    // "1" starts the words 10…19 and 15550100, spread over the buckets of their users: the page merges them in order.
    const expected = [
      ...['10', '11', '12', '13', '14', '15'].map((n) => `Zed ${n}`),
      'Bob Annan',
      ...['16', '17', '18', '19'].map((n) => `Zed ${n}`),
    ];
    expect(names(await list('?search=1&top=20'))).toEqual(expected);
    expect((await all('?search=1&top=3')).map((u) => u.displayName)).toEqual(expected);
  });

  it('filters by number, voice, licence and voice routing policy', async () => {
    expect(names(await list('?hasNumber=true'))).toEqual(['Anna Smith', 'Annabel Jones', 'Bob Annan']);
    expect((await list('?hasNumber=false')).value).toHaveLength(22);
    expect(names(await list('?enterpriseVoice=true'))).toEqual(['Anna Smith', 'Annabel Jones']);
    expect(names(await list('?licensed=true'))).toEqual(['Anna Smith']);
    expect(names(await list('?voiceRoutingPolicy=international'))).toEqual(['carl Young']);
    expect(names(await list('?search=ann&hasNumber=true&enterpriseVoice=false'))).toEqual(['Bob Annan']);
  });

  it('filters the users with pending changes, as the user-change engine marks them', async () => {
    const { mirror } = stack.services;
    expect(await mirror.markPending(CUSTOMER, id(3), true)).toBe(true);
    expect(names(await list('?pending=true'))).toEqual(['Bob Annan']);
    expect((await list('?search=bob')).value[0]?.pendingChanges).toBe(true);
    // A replication write keeps the flag; clearing it removes the user from the filter.
    await mirror.putUsers(
      CUSTOMER,
      [user(3, { displayName: 'Bob Annan', lineUri: 'tel:+15550100', department: 'Ops' })],
      'test',
    );
    expect(names(await list('?pending=true'))).toEqual(['Bob Annan']);
    await mirror.markPending(CUSTOMER, id(3), false);
    expect((await list('?pending=true')).value).toEqual([]);
    expect(await mirror.markPending(CUSTOMER, id(999), true)).toBe(false);
  });

  it('follows a renamed or removed user: no stale row stays behind', async () => {
    const { mirror } = stack.services;
    await mirror.putUsers(CUSTOMER, [user(5, { displayName: 'Dana Zhou' })], 'test');
    expect(names(await list('?search=ng'))).toEqual([]);
    expect(names(await list('?search=zhou'))).toEqual(['Dana Zhou']);
    await mirror.deleteUsers(CUSTOMER, [id(5)]);
    expect(names(await list('?search=dana'))).toEqual([]);
    expect(await all('')).toHaveLength(24);
    await mirror.putUsers(CUSTOMER, [user(5, { displayName: 'Dana Ng' })], 'test');
  });

  it('refuses a bad filter, a made-up cursor and sort with search, with stable codes', async () => {
    const forged = Buffer.from(JSON.stringify({ t: 'not-a-token' })).toString('base64url');
    for (const query of [
      '?hasNumber=yes',
      '?sort=department',
      '?cursor=bm90LWEtY3Vyc29y',
      `?cursor=${forged}`,
      '?search=%20',
    ]) {
      const response = await call('GET', `${BASE}${query}`);
      expect(response.status, query).toBe(400);
      expect(response.problem.code).toBe('validation_failed');
    }
    const both = await call('GET', `${BASE}?search=ann&sort=line-uri`);
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toContain('sort_with_search');
  });

  it('answers 409 no_m365_for_essentials for a Hosted Essentials customer', async () => {
    for (const path of ['', '/export', `/${id(1)}`]) {
      const response = await call('GET', `/api/v1/customers/Essentials/users${path}`);
      expect(response.status, path).toBe(409);
      expect(response.problem.code).toBe('no_m365_for_essentials');
    }
  });

  it('reads a page with a fixed number of storage queries, whatever its size; a search also reads the users it shows', async () => {
    const costs: number[] = [];
    for (const query of [
      '?top=2',
      '?top=20',
      '?search=zed&top=15',
      '?search=1&top=3',
      '?hasNumber=false&top=10',
    ]) {
      let shown = 0;
      const calls = await counter.count(async () => {
        shown = (await list(query)).value.length;
      });
      const queries = calls.filter((call) => call.operation !== 'get');
      const reads = calls.filter((call) => call.operation === 'get');
      costs.push(queries.length);
      // A search row holds only what the search matches on: the page's users are read from their rows, one point
      // read each; a list page reads none.
      const userReads = reads.filter((call) => /~u~[0-9a-f]{2}$/.test(call.partitionKey ?? ''));
      expect(userReads).toHaveLength(query.includes('search=') ? shown : 0);
      if (query.includes('search=')) expect(shown).toBeGreaterThan(0);
    }
    // The customer, its replication status and credential, the voice objects, the subscriptions, one index range
    // per bucket, read side by side (and the edge's own).
    expect(Math.max(...costs)).toBeLessThanOrEqual(8 + INDEX_BUCKETS);
    expect(new Set(costs).size).toBe(1);
  });
});

describe('the users export', () => {
  it("writes the list's columns for the filter, neutralising cells a spreadsheet would run", async () => {
    const response = await call('GET', `${BASE}/export?enterpriseVoice=true`);
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^text\/csv/);
    const rows = parse(String(response.body), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r['Display Name'])).toEqual(['Anna Smith', 'Annabel Jones']);
    expect(rows[0]).toMatchObject({
      'SIP Address': 'sip:anna.smith@usersco.example',
      'Line URI': 'tel:+442071234001',
      'Online PSTN Gateway': GATEWAY,
      'Site Location': 'sbc1',
      EnterpriseVoiceEnabled: 'Yes',
      // By name; a license the tenant's subscriptions no longer name keeps its skuId.
      Licenses: `MCOEV ${GONE_SKU}`,
    });
    expect(rows[1]?.Department).toBe(`'=HYPERLINK("http://evil.example")`);
  });

  it('exports every user without a filter', async () => {
    const response = await call('GET', `${BASE}/export`);
    expect(parse(String(response.body), { columns: true })).toHaveLength(25);
  });
});

describe("a user's details", () => {
  it('shows general, location, licences, telephony, every policy, groups, pending changes, audit and an ETag', async () => {
    const response = await call('GET', `${BASE}/${id(1)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{16}"$/);
    const body = response.body as {
      policies: Array<{ type: string; value: string; label: string }>;
      groups: unknown[];
    };
    expect(body).toMatchObject({
      general: { displayName: 'Anna Smith', sipAddress: 'sip:anna.smith@usersco.example' },
      location: { usageLocation: 'GB' },
      licenses: [
        { skuId: PHONE_SYSTEM, skuPartNumber: 'MCOEV' },
        { skuId: GONE_SKU, skuPartNumber: null },
      ],
      telephony: {
        lineUri: 'tel:+442071234001',
        numberType: 'direct-routing',
        enterpriseVoiceEnabled: true,
        onlinePstnGateway: GATEWAY,
      },
      groups: [{ id: GROUP, displayName: 'Sales' }],
      template: null,
      // Nothing queued or applied through the product yet; the audit's link pages it all.
      pendingChanges: [],
      audit: { value: [], link: `${BASE}/${id(1)}/audit`, nextLink: null },
    });
    expect(body.policies.find((p) => p.type === 'voice-routing')).toMatchObject({
      label: 'Online Voice Routing Policy',
      value: 'Unrestricted',
    });
    expect(body.policies.find((p) => p.type === 'calling')?.value).toBe('Global');
  });

  it('changes its ETag when the mirrored user changes', async () => {
    const before = (await call('GET', `${BASE}/${id(4)}`)).headers.get('etag');
    await stack.services.mirror.putUsers(CUSTOMER, [user(4, { displayName: 'Carl Young' })], 'test');
    const after = (await call('GET', `${BASE}/${id(4)}`)).headers.get('etag');
    expect(after).not.toBe(before);
  });

  it('answers 404 for a user the mirror does not have', async () => {
    const response = await call('GET', `${BASE}/${id(999)}`);
    expect(response.status).toBe(404);
  });
});

describe('the number index', () => {
  it('finds the users whose number is in a range, by number, extension ignored', async () => {
    // The number inventory's seam, as the composition root will hand the mirror to it.
    const index: MirrorNumberIndex = stack.services.mirror;
    const holders = await index.usersWithNumbersBetween(CUSTOMER, '+442071234000', '+442071234002');
    expect(holders.map((h) => [h.userId, h.lineUri])).toEqual([
      [id(1), 'tel:+442071234001'],
      [id(2), 'tel:+442071234002;ext=2'],
    ]);
    expect(await stack.services.mirror.usersWithNumbersBetween(CUSTOMER, '+15550101', '+15550199')).toEqual(
      [],
    );
  });
});
