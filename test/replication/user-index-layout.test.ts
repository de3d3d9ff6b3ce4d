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
});
