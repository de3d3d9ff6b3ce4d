import { describe, expect, it } from 'vitest';
import { MIRROR_TABLE, createMirrorStoreOn } from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { mirrorUser } from '../support/mirror-user.js';

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const CUSTOMER = 'Layouts';

const user = (n: number, displayName: string): MirrorUser =>
  mirrorUser({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    userPrincipalName: `user${n}@layouts.example`,
    displayName,
  });

async function rowsOf(tables: ReturnType<typeof memoryTables>): Promise<Entity[]> {
  const rows: Entity[] = [];
  for await (const { value } of tables.table<Entity>(MIRROR_TABLE).list()) rows.push(value);
  return rows;
}

const isSearchRow = (row: Entity) => /~q(~|$)/.test(row.partitionKey);

describe("the user index's search partitions", () => {
  it("spreads a customer's search words over partitions by their first two characters", async () => {
    const tables = memoryTables();
    const mirror = createMirrorStoreOn(tables);
    await mirror.putUsers(CUSTOMER, [user(1, 'Anna Smith'), user(2, 'Bob Annan'), user(3, 'Ann Lee')], 'c1');
    const partitions = new Set(
      (await rowsOf(tables)).filter(isSearchRow).map((r) => r.partitionKey.split('~q~')[1]),
    );
    expect([...partitions].sort()).toEqual(['an', 'bo', 'le', 'sm', 'us']);
  });

  it('moves a mirror written with one search partition to the split one at the next full cycle', async () => {
    const tables = memoryTables();
    const table = tables.table<Entity>(MIRROR_TABLE);
    const mirror = createMirrorStoreOn(tables);
    const anna = user(1, 'Anna Smith');
    await mirror.putUsers(CUSTOMER, [anna], 'c1');
    // As an earlier release left it: every search word in `{customer}~q`, and no layout on the user row.
    for (const row of (await rowsOf(tables)).filter(isSearchRow)) {
      await table.delete(row.partitionKey, row.rowKey);
      await table.insert({ ...row, partitionKey: row.partitionKey.replace(/~q~.*$/, '~q') });
    }
    const userRow = (await rowsOf(tables)).find((r) => r.rowKey === anna.id);
    if (!userRow) throw new Error('the user row is missing');
    const { index: _layout, ...older } = userRow;
    await table.upsert(older);

    // The full cycle sees the user as changed although its content is not, and rewrites it with its index.
    expect((await mirror.userHashes(CUSTOMER)).get(anna.id)).toBe('');
    await mirror.putUsers(CUSTOMER, [anna], 'c2', () => true);

    const searchRows = (await rowsOf(tables)).filter(isSearchRow);
    expect(searchRows.filter((r) => r.partitionKey.endsWith('~q'))).toEqual([]);
    expect(searchRows.length).toBeGreaterThan(0);
    expect((await mirror.userHashes(CUSTOMER)).get(anna.id)).not.toBe('');
    const found = await mirror.indexPage(CUSTOMER, {
      partition: { prefix: 'q~s' },
      prefix: 's',
      where: [],
      top: 10,
    });
    expect(found.items.map((u) => u.displayName)).toEqual(['Anna Smith']);
  });
});
