import { describe, expect, it } from 'vitest';
import {
  type IndexCursor,
  MIRROR_TABLE,
  createMirrorStoreOn,
} from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { INDEX_BUCKETS, indexKeys, keyPart, upnBucket } from '../../shared/replication/user-index.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { mirrorUser } from '../support/mirror-user.js';

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const CUSTOMER = 'Layouts';

const user = (n: number, displayName: string, upn = `user${n}@layouts.example`): MirrorUser =>
  mirrorUser({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    userPrincipalName: upn,
    displayName,
  });

/** A user with every column the list shows, Direct Routing's included. */
const ANNA = mirrorUser({
  id: '00000000-0000-4000-8000-000000000001',
  userPrincipalName: 'anna.smith@layouts.example',
  displayName: 'Anna Smith',
  department: 'Sales',
  enterpriseVoiceEnabled: true,
  lineUri: 'tel:+442071234567',
  policies: { OnlineVoiceRoutingPolicy: 'Tag:International', TenantDialPlan: 'Tag:UK' },
  assignedLicenses: ['4828c8ec-dc2e-4779-b502-87ac9ce28ab7'],
});

async function rowsOf(tables: ReturnType<typeof memoryTables>): Promise<Entity[]> {
  const rows: Entity[] = [];
  for await (const { value } of tables.table<Entity>(MIRROR_TABLE).list()) rows.push(value);
  return rows;
}

const family = (row: Entity) => /~i~([a-z]+)~[0-9a-f]$/.exec(row.partitionKey)?.[1];

type Mirror = ReturnType<typeof createMirrorStoreOn>;

/** Every page of an index listing, following the cursors; fails on a listing that does not progress. */
async function everyPage(read: (cursor?: IndexCursor) => ReturnType<Mirror['indexPage']>): Promise<string[]> {
  const names: string[] = [];
  let cursor: IndexCursor | undefined;
  for (let pages = 0; pages < 500; pages++) {
    const page = await read(cursor);
    names.push(...page.items.map((u) => u.displayName ?? ''));
    if (!page.next) return names;
    cursor = page.next;
  }
  throw new Error('the listing did not end');
}

describe("the user index's buckets", () => {
  it('spreads every family over its buckets by a hash, even when every UPN starts alike', async () => {
    const tables = memoryTables();
    const mirror = createMirrorStoreOn(tables);
    const users = Array.from({ length: 200 }, (_, n) =>
      user(n, `Anna Smith ${n}`, `u${String(n).padStart(6, '0')}@layouts.example`),
    );
    await mirror.putUsers(CUSTOMER, users, 'c1');
    const rows = (await rowsOf(tables)).filter((row) => family(row) !== undefined);
    for (const name of ['name', 'upn', 'line', 'q']) {
      const partitions = new Map<string, number>();
      for (const row of rows.filter((r) => family(r) === name)) {
        partitions.set(row.partitionKey, (partitions.get(row.partitionKey) ?? 0) + 1);
      }
      expect(partitions.size).toBe(INDEX_BUCKETS);
      // 200 users over 16 buckets: no bucket holds a third of them, as one `u0` partition would.
      for (const count of partitions.values()) expect(count).toBeLessThan(name === 'q' ? 6 * 60 : 60);
    }
  });

  it('lists the buckets merged in key order, page after page, with nothing repeated or missed', async () => {
    const mirror = createMirrorStoreOn(memoryTables());
    const users = Array.from({ length: 300 }, (_, n) =>
      user(n, `Person ${String((n * 37) % 300).padStart(3, '0')}`),
    );
    await mirror.putUsers(CUSTOMER, users, 'c1');
    const names = await everyPage((cursor) =>
      mirror.indexPage(CUSTOMER, {
        family: 'display-name',
        where: [],
        top: 7,
        ...(cursor ? { cursor } : {}),
      }),
    );
    expect(names).toEqual(
      users.map((u) => u.displayName ?? '').sort((a, b) => keyPart(a).localeCompare(keyPart(b))),
    );
  });

  it('ends a page early where a sparse search stopped, and the next page resumes there', async () => {
    const mirror = createMirrorStoreOn(memoryTables());
    const users = Array.from({ length: 1000 }, (_, n) => user(n, `Member ${String(n).padStart(4, '0')}`));
    await mirror.putUsers(CUSTOMER, users, 'c1');
    // One user in 53 passes the check made after reading (a search's other words): most buckets stop empty-handed.
    const wanted = users.filter((_, n) => n % 53 === 5).map((u) => u.displayName ?? '');
    let pages = 0;
    const names = await everyPage(async (cursor) => {
      pages++;
      return mirror.indexPage(CUSTOMER, {
        family: 'search',
        prefix: 'member',
        where: [],
        top: 5,
        keep: (u) => wanted.includes(u.displayName ?? ''),
        ...(cursor ? { cursor } : {}),
      });
    });
    expect(names).toEqual(wanted);
    expect(pages).toBeGreaterThan(Math.ceil(wanted.length / 5));
  });

  it("keeps only a search's columns on its rows, and shows a search's users as their rows hold them", async () => {
    const tables = memoryTables();
    const mirror = createMirrorStoreOn(tables);
    const anna = ANNA;
    await mirror.putUsers(CUSTOMER, [anna], 'c1');
    const rows = await rowsOf(tables);
    const search = rows.filter((r) => family(r) === 'q');
    expect(search.map((r) => r.rowKey.split(' ')[0])).toEqual(
      expect.arrayContaining(['anna', 'smith', 'anna.smith@layouts.example', '442071234567']),
    );
    for (const row of search) {
      expect(Object.keys(row).sort()).toEqual(
        [
          'displayName',
          'ev',
          'hasNumber',
          'licensed',
          'lineUri',
          'partitionKey',
          'pending',
          'rowKey',
          'userPrincipalName',
          'vrp',
        ].sort(),
      );
    }
    // A sort row still carries the list's columns: a list page reads nothing else.
    const byName = rows.find((r) => family(r) === 'name');
    expect(byName).toMatchObject({ department: 'Sales', tenantDialPlan: 'Tag:UK' });

    const found = await mirror.indexPage(CUSTOMER, {
      family: 'search',
      prefix: 'smi',
      where: [['vrp', 'eq', 'international']],
      top: 10,
    });
    const listed = await mirror.indexPage(CUSTOMER, { family: 'display-name', where: [], top: 10 });
    expect(found.items).toEqual([{ ...listed.items[0], rowKey: `smith ${anna.id}` }]);
    expect(found.items[0]).toMatchObject({
      department: 'Sales',
      voiceRoutingPolicy: 'Tag:International',
      tenantDialPlan: 'Tag:UK',
      assignedLicenses: ['4828c8ec-dc2e-4779-b502-87ac9ce28ab7'],
    });
  });

  it('leaves out of a search page a user whose row is gone, and pages on', async () => {
    const tables = memoryTables();
    const mirror = createMirrorStoreOn(tables);
    const users = Array.from({ length: 6 }, (_, n) => user(n, `Member ${n}`));
    await mirror.putUsers(CUSTOMER, users, 'c1');
    // As a removal caught half-way would leave it: the index rows of user 2 without its row.
    const gone = users[2] as MirrorUser;
    const userRow = (await rowsOf(tables)).find((r) => r.rowKey === gone.id);
    if (!userRow) throw new Error('the user row is missing');
    await tables.table<Entity>(MIRROR_TABLE).delete(userRow.partitionKey, userRow.rowKey);

    const first = await mirror.indexPage(CUSTOMER, { family: 'search', prefix: 'member', where: [], top: 3 });
    expect(first.items.map((u) => u.displayName)).toEqual(['Member 0', 'Member 1']);
    const rest = await everyPage((cursor) =>
      mirror.indexPage(CUSTOMER, {
        family: 'search',
        prefix: 'member',
        where: [],
        top: 3,
        ...(cursor ? { cursor } : { cursor: first.next ?? { k: '' } }),
      }),
    );
    expect(rest).toEqual(['Member 3', 'Member 4', 'Member 5']);
  });

  it("finds a user by UPN in the UPN's own bucket, and moves the row when the UPN changes", async () => {
    const tables = memoryTables();
    const mirror = createMirrorStoreOn(tables);
    const users = Array.from({ length: 40 }, (_, n) => user(n, `Person ${n}`));
    await mirror.putUsers(CUSTOMER, users, 'c1');
    const byUpn = (upn: string) =>
      mirror.indexPage(CUSTOMER, {
        family: 'user-principal-name',
        buckets: [upnBucket(upn)],
        prefix: `${keyPart(upn)} `,
        where: [],
        top: 5,
      });
    expect((await byUpn('user7@layouts.example')).items.map((u) => u.displayName)).toEqual(['Person 7']);

    const renamed = { ...users[7], userPrincipalName: 'someone.else@layouts.example' } as MirrorUser;
    await mirror.putUsers(CUSTOMER, [renamed], 'c2');
    expect((await byUpn('user7@layouts.example')).items).toEqual([]);
    expect((await byUpn('someone.else@layouts.example')).items.map((u) => u.displayName)).toEqual([
      'Person 7',
    ]);
    const upnRows = (await rowsOf(tables)).filter((r) => family(r) === 'upn');
    expect(upnRows).toHaveLength(40);
  });

  it('moves a mirror of the former layout to the buckets at the next full cycle', async () => {
    const tables = memoryTables();
    const table = tables.table<Entity>(MIRROR_TABLE);
    const mirror = createMirrorStoreOn(tables);
    const anna = user(1, 'Anna Smith');
    await mirror.putUsers(CUSTOMER, [anna], 'c1');
    // As the former release left it: one partition per sort order, search words by their first two characters.
    const current = (await rowsOf(tables)).filter((row) => family(row) !== undefined);
    const former = indexKeys(anna, 2);
    for (const row of current) {
      await table.delete(row.partitionKey, row.rowKey);
      const key = former.find(
        (k) =>
          k.rowKey === row.rowKey &&
          family(row) === (k.partition.startsWith('q') ? 'q' : k.partition.slice(2)),
      );
      if (!key) throw new Error(`no former key for ${row.rowKey}`);
      await table.insert({ ...row, partitionKey: `${CUSTOMER.toLowerCase()}~${key.partition}` });
    }
    const userRow = (await rowsOf(tables)).find((r) => r.rowKey === anna.id);
    if (!userRow) throw new Error('the user row is missing');
    await table.upsert({ ...userRow, index: 2 });

    // The full cycle sees the user as changed although its content is not, and rewrites it with its index.
    expect((await mirror.userHashes(CUSTOMER)).get(anna.id)).toBe('');
    await mirror.putUsers(CUSTOMER, [anna], 'c2', () => true);

    const rows = await rowsOf(tables);
    expect(rows.filter((r) => /^[^~]*~(x|q)(~|$)/.test(r.partitionKey))).toEqual([]);
    expect(rows.filter((r) => family(r) !== undefined)).toHaveLength(current.length);
    expect((await mirror.userHashes(CUSTOMER)).get(anna.id)).not.toBe('');
    const found = await mirror.indexPage(CUSTOMER, { family: 'search', prefix: 's', where: [], top: 10 });
    expect(found.items.map((u) => u.displayName)).toEqual(['Anna Smith']);
  });

  it('slims the search rows of a mirror of layout 3 at the next full cycle, and searches it meanwhile', async () => {
    const tables = memoryTables();
    const table = tables.table<Entity>(MIRROR_TABLE);
    const mirror = createMirrorStoreOn(tables);
    const anna = ANNA;
    await mirror.putUsers(CUSTOMER, [anna], 'c1');
    // As layout 3 left them: the same keys, every search row with the list's columns of a sort row.
    const current = await rowsOf(tables);
    const { partitionKey: _p, rowKey: _r, ...columns } = current.find((r) => family(r) === 'name') ?? {};
    for (const row of current.filter((r) => family(r) === 'q')) await table.upsert({ ...row, ...columns });
    const userRow = current.find((r) => r.rowKey === anna.id);
    if (!userRow) throw new Error('the user row is missing');
    await table.upsert({ ...userRow, index: 3 });

    const search = () =>
      mirror.indexPage(CUSTOMER, { family: 'search', prefix: 'smith', where: [], top: 10 });
    expect((await search()).items.map((u) => [u.displayName, u.department])).toEqual([
      ['Anna Smith', 'Sales'],
    ]);
    expect((await mirror.userHashes(CUSTOMER)).get(anna.id)).toBe('');
    await mirror.putUsers(CUSTOMER, [anna], 'c2', () => true);

    const rows = await rowsOf(tables);
    expect(rows.filter((r) => family(r) !== undefined)).toHaveLength(
      current.filter((r) => family(r) !== undefined).length,
    );
    expect(rows.filter((r) => family(r) === 'q' && 'department' in r)).toEqual([]);
    expect(rows.find((r) => r.rowKey === anna.id)).toMatchObject({ index: 4 });
    expect((await search()).items.map((u) => [u.displayName, u.department])).toEqual([
      ['Anna Smith', 'Sales'],
    ]);
  });
});
