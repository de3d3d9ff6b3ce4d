import { describe, expect, it } from 'vitest';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { KeyRange, ListOptions } from '../../shared/storage/versioned-table.js';

type Row = { partitionKey: string; rowKey: string; n: number };

/** A fixed pseudo-random order, so a failure repeats. */
function shuffled<T>(items: T[], seed = 7): T[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

const within = (key: string, range: KeyRange | undefined) =>
  !range ||
  ((range.gt === undefined || key > range.gt) &&
    (range.ge === undefined || key >= range.ge) &&
    (range.lt === undefined || key < range.lt) &&
    (range.le === undefined || key <= range.le) &&
    (range.prefix === undefined || key.startsWith(range.prefix)));

describe('memoryTables() as an ordered index', () => {
  it('lists key ranges in key order after many writes in random order, deletes and re-inserts', async () => {
    // More keys than a partition keeps in order by moving them, in an order that is neither sorted nor reversed.
    const keys = Array.from({ length: 9000 }, (_, i) => ({
      partitionKey: `p${i % 7}`,
      rowKey: `k${String((i * 7919) % 9000).padStart(5, '0')}`,
    }));
    const table = memoryTables().table<Row>('ordered');
    for (const [n, key] of shuffled(keys).entries()) await table.upsert({ ...key, n });
    for (const key of shuffled(keys, 3).slice(0, 3000)) await table.delete(key.partitionKey, key.rowKey);
    for (const [n, key] of shuffled(keys, 5).slice(0, 1000).entries()) await table.upsert({ ...key, n });

    const all: Row[] = [];
    for await (const { value } of table.list()) all.push(value);
    const expected = [...all].sort((a, b) =>
      a.partitionKey === b.partitionKey
        ? a.rowKey < b.rowKey
          ? -1
          : 1
        : a.partitionKey < b.partitionKey
          ? -1
          : 1,
    );
    expect(all).toEqual(expected);

    const cases: ListOptions[] = [
      { partitionKey: 'p3', rowKey: { prefix: 'k012' } },
      { partitionKey: { ge: 'p2', lt: 'p5' }, rowKey: { gt: 'k04000', le: 'k06000' } },
      { partitionKey: { prefix: 'p' }, after: { partitionKey: 'p4', rowKey: 'k08000' } },
      { partitionKey: 'p1', where: [['n', 'lt', 500]] },
      { partitionKey: 'missing' },
    ];
    for (const options of cases) {
      const want = expected.filter(
        (row) =>
          (typeof options.partitionKey === 'string'
            ? row.partitionKey === options.partitionKey
            : within(row.partitionKey, options.partitionKey)) &&
          within(row.rowKey, options.rowKey) &&
          (!options.after ||
            row.partitionKey > options.after.partitionKey ||
            (row.partitionKey === options.after.partitionKey && row.rowKey > options.after.rowKey)) &&
          (!options.where || row.n < 500),
      );
      const pages: Row[][] = [];
      for await (const page of table.list(options).byPage({ maxPageSize: 250 })) {
        pages.push(page.rows.map((r) => r.value));
        expect(page.continuationToken === undefined).toBe(pages.flat().length === want.length);
      }
      expect(pages.flat()).toEqual(want);
    }
  });

  it('drops an emptied partition from listings', async () => {
    const table = memoryTables().table<Row>('empty');
    await table.insert({ partitionKey: 'a', rowKey: '1', n: 1 });
    await table.insert({ partitionKey: 'b', rowKey: '1', n: 2 });
    await table.delete('a', '1');
    const rows: Row[] = [];
    for await (const { value } of table.list({ partitionKey: { ge: 'a' } })) rows.push(value);
    expect(rows).toEqual([{ partitionKey: 'b', rowKey: '1', n: 2 }]);
  });
});

describe('memoryTables() refuses what Table storage refuses', () => {
  type Loose = { partitionKey: string; rowKey: string } & Record<string, unknown>;
  const table = () => memoryTables().table<Loose>('refusals');

  it.each([
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['a hash', 'a#b'],
    ['a question mark', 'a?b'],
    ['a control character', 'a\u0007b'],
    ['a C1 control character', 'a\u0085b'],
    ['more than 1,024 characters', 'k'.repeat(1025)],
  ])('a key with %s', async (_, key) => {
    await expect(table().upsert({ partitionKey: 'p', rowKey: key })).rejects.toThrow(/Not a valid key/);
    await expect(table().upsert({ partitionKey: key, rowKey: 'r' })).rejects.toThrow(/Not a valid key/);
  });

  it('keeps any other character, absent properties left out', async () => {
    const t = table();
    await t.upsert({
      partitionKey: 'p',
      rowKey: 'Ünïcode ✓ 𝄞 ~!',
      n: 1,
      text: 'x',
      off: null,
      gone: undefined,
    });
    expect((await t.get('p', 'Ünïcode ✓ 𝄞 ~!'))?.value).toEqual({
      partitionKey: 'p',
      rowKey: 'Ünïcode ✓ 𝄞 ~!',
      n: 1,
      text: 'x',
    });
  });

  it('a property that is not a scalar, a string over 32K characters, more than 252 properties', async () => {
    await expect(table().upsert({ partitionKey: 'p', rowKey: 'r', list: [1] })).rejects.toThrow(
      /cannot be stored/,
    );
    await expect(
      table().upsert({ partitionKey: 'p', rowKey: 'r', text: 'x'.repeat(32 * 1024 + 1) }),
    ).rejects.toThrow(/cannot be stored/);
    const many = Object.fromEntries(Array.from({ length: 251 }, (_, i) => [`p${i}`, i]));
    await expect(table().upsert({ partitionKey: 'p', rowKey: 'r', ...many })).rejects.toThrow(/at most 252/);
  });
});
