import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { developmentConnectionString, type RunningAzurite, startAzurite } from '../../dev/azurite.js';
import { TransientError, VersionConflictError } from '../../shared/errors/domain-errors.js';
import { azureTables } from '../../shared/storage/azure-tables.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { type Tables, withOptimisticRetry } from '../../shared/storage/versioned-table.js';
import { faultyTables } from '../support/faulty-tables.js';
import { freePort } from '../../dev/host/free-port.js';

type Row = {
  partitionKey: string;
  rowKey: string;
  name?: string;
  count?: number;
  active?: boolean;
  note?: string | null;
};

/** A fresh table per test, so the cases do not see each other's rows. */
const tableName = () => `conf${randomBytes(6).toString('hex')}`;

const collect = async <T>(source: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
};

/** One contract, run against every implementation of the kit. */
function conformance(name: string, setup: () => Promise<{ tables: Tables; outage: () => Promise<Tables> }>) {
  describe(`VersionedTable on ${name}`, () => {
    let tables: Tables;
    let outage: () => Promise<Tables>;
    beforeAll(async () => {
      ({ tables, outage } = await setup());
    });
    const table = () => tables.table<Row>(tableName());

    it('reads an absent row as null', async () => {
      expect(await table().get('p', 'missing')).toBeNull();
    });

    it('inserts a row and refuses to insert it again', async () => {
      const t = table();
      const etag = await t.insert({ partitionKey: 'p', rowKey: 'a', name: 'first', count: 3, active: true });
      expect(etag).toBeTruthy();
      expect(await t.get('p', 'a')).toEqual({
        value: { partitionKey: 'p', rowKey: 'a', name: 'first', count: 3, active: true },
        etag,
      });
      await expect(t.insert({ partitionKey: 'p', rowKey: 'a', name: 'second' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      expect((await t.get('p', 'a'))?.value.name).toBe('first');
    });

    it('leaves null properties out', async () => {
      const t = table();
      await t.insert({ partitionKey: 'p', rowKey: 'a', name: 'x', note: null });
      expect((await t.get('p', 'a'))?.value).toEqual({ partitionKey: 'p', rowKey: 'a', name: 'x' });
    });

    it('replaces at the current ETag only, with a new ETag each write', async () => {
      const t = table();
      const first = await t.insert({ partitionKey: 'p', rowKey: 'a', name: 'v1' });
      const second = await t.replace({ partitionKey: 'p', rowKey: 'a', name: 'v2' }, first);
      expect(second).not.toBe(first);
      await expect(
        t.replace({ partitionKey: 'p', rowKey: 'a', name: 'stale' }, first),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect(await t.get('p', 'a')).toEqual({
        value: { partitionKey: 'p', rowKey: 'a', name: 'v2' },
        etag: second,
      });
      await expect(
        t.replace({ partitionKey: 'p', rowKey: 'gone', name: 'x' }, second),
      ).rejects.toBeInstanceOf(VersionConflictError);
    });

    it('upserts whatever is there', async () => {
      const t = table();
      const first = await t.upsert({ partitionKey: 'p', rowKey: 'a', name: 'v1', count: 1 });
      const second = await t.upsert({ partitionKey: 'p', rowKey: 'a', name: 'v2' });
      expect(second).not.toBe(first);
      expect((await t.get('p', 'a'))?.value).toEqual({ partitionKey: 'p', rowKey: 'a', name: 'v2' });
    });

    it('deletes with and without an ETag; absent is false', async () => {
      const t = table();
      const etag = await t.insert({ partitionKey: 'p', rowKey: 'a' });
      const newer = await t.replace({ partitionKey: 'p', rowKey: 'a', name: 'newer' }, etag);
      await expect(t.delete('p', 'a', etag)).rejects.toBeInstanceOf(VersionConflictError);
      expect(await t.delete('p', 'a', newer)).toBe(true);
      expect(await t.get('p', 'a')).toBeNull();
      expect(await t.delete('p', 'a')).toBe(false);
      expect(await t.delete('p', 'a', newer)).toBe(false);
      await t.insert({ partitionKey: 'p', rowKey: 'b' });
      expect(await t.delete('p', 'b')).toBe(true);
    });

    it('lists by PartitionKey then RowKey, by range, prefix and property, a page at a time', async () => {
      const t = table();
      const keys = [
        ['b', 'x-2'],
        ['a', 'x-1'],
        ['b', 'x-1'],
        ['a', 'y-1'],
        ['b', 'Z'],
        ['c', 'x-3'],
      ] as const;
      let i = 0;
      for (const [partitionKey, rowKey] of keys) {
        await t.insert({ partitionKey, rowKey, count: i, active: i % 2 === 0, name: `n${i++}` });
      }
      const keysOf = (rows: readonly { value: Row }[]) =>
        rows.map((r) => `${r.value.partitionKey}/${r.value.rowKey}`);
      expect(keysOf(await collect(t.list()))).toEqual(['a/x-1', 'a/y-1', 'b/Z', 'b/x-1', 'b/x-2', 'c/x-3']);
      expect(keysOf(await collect(t.list({ partitionKey: 'b' })))).toEqual(['b/Z', 'b/x-1', 'b/x-2']);
      expect(keysOf(await collect(t.list({ partitionKey: 'b', rowKey: { prefix: 'x-' } })))).toEqual([
        'b/x-1',
        'b/x-2',
      ]);
      expect(
        keysOf(await collect(t.list({ partitionKey: { ge: 'b' }, rowKey: { gt: 'x-1', lt: 'x-3' } }))),
      ).toEqual(['b/x-2']);
      expect(keysOf(await collect(t.list({ where: [['active', 'eq', true]] })))).toEqual([
        'b/Z',
        'b/x-1',
        'b/x-2',
      ]);
      expect(
        keysOf(
          await collect(
            t.list({
              where: [
                ['count', 'ge', 3],
                ['name', 'ne', 'n4'],
              ],
            }),
          ),
        ),
      ).toEqual(['a/y-1', 'c/x-3']);
      expect(keysOf(await collect(t.list({ after: { partitionKey: 'b', rowKey: 'x-1' } })))).toEqual([
        'b/x-2',
        'c/x-3',
      ]);
      const selected = await collect(t.list({ partitionKey: 'c', select: ['name'] }));
      expect(selected.map((r) => r.value)).toEqual([{ partitionKey: 'c', rowKey: 'x-3', name: 'n5' }]);

      const pages = await collect(t.list().byPage({ maxPageSize: 4 }));
      expect(pages.map((p) => p.rows.length)).toEqual([4, 2]);
      expect(pages[1]?.continuationToken).toBeUndefined();
      const token = pages[0]?.continuationToken;
      expect(token).toBeTruthy();
      const resumed = await collect(
        t.list().byPage({ maxPageSize: 4, ...(token ? { continuationToken: token } : {}) }),
      );
      expect(resumed.flatMap((p) => keysOf(p.rows))).toEqual(['b/x-2', 'c/x-3']);
    });

    it('writes a transaction all or nothing', async () => {
      const t = table();
      const etag = await t.insert({ partitionKey: 'p', rowKey: 'a', count: 1 });
      await t.insert({ partitionKey: 'p', rowKey: 'gone' });
      const [next, created, deleted] = await t.transaction([
        { kind: 'replace', row: { partitionKey: 'p', rowKey: 'a', count: 2 }, etag },
        { kind: 'insert', row: { partitionKey: 'p', rowKey: 'b', count: 1 } },
        { kind: 'delete', partitionKey: 'p', rowKey: 'gone' },
      ]);
      expect(next).toBeTruthy();
      expect(created).toBeTruthy();
      expect(deleted).toBe('');
      await expect(
        t.transaction([
          { kind: 'upsert', row: { partitionKey: 'p', rowKey: 'c' } },
          { kind: 'replace', row: { partitionKey: 'p', rowKey: 'a', count: 3 }, etag },
        ]),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect(await t.get('p', 'c')).toBeNull();
      expect((await t.get('p', 'a'))?.value.count).toBe(2);
      await expect(
        t.transaction([
          { kind: 'insert', row: { partitionKey: 'p', rowKey: 'd' } },
          { kind: 'insert', row: { partitionKey: 'p', rowKey: 'b' } },
        ]),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect(await t.get('p', 'd')).toBeNull();
    });

    it('reports an outage as transient, never as an absent row', async () => {
      const down = (await outage()).table<Row>(tableName());
      await expect(down.get('p', 'a')).rejects.toBeInstanceOf(TransientError);
      await expect(down.insert({ partitionKey: 'p', rowKey: 'a' })).rejects.toBeInstanceOf(TransientError);
      await expect(down.delete('p', 'a')).rejects.toBeInstanceOf(TransientError);
      await expect(collect(down.list())).rejects.toBeInstanceOf(TransientError);
    });
  });
}

conformance('memoryTables()', async () => ({
  tables: memoryTables(),
  outage: async () => faultyTables(memoryTables(), () => true),
}));

let azurite: RunningAzurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.close();
});
conformance('azureTables() on Azurite', async () => {
  if (!azurite) throw new Error('Azurite did not start.');
  return {
    tables: azureTables(azurite.connectionString),
    outage: async () => {
      // Nothing listens there: the connection is refused, as when the storage account is unreachable.
      const port = await freePort();
      return azureTables(developmentConnectionString({ blob: port, queue: port, table: port }), {
        maxRetries: 0,
      });
    },
  };
});

describe('withOptimisticRetry', () => {
  const conflict = () => new VersionConflictError('lost the race');

  it('retries a conflict, with a jittered, growing pause', async () => {
    const pauses: number[] = [];
    let calls = 0;
    const result = await withOptimisticRetry(
      async (attempt) => {
        calls++;
        if (attempt < 4) throw conflict();
        return 'won';
      },
      {
        attempts: 5,
        baseDelayMs: 100,
        maxDelayMs: 300,
        random: () => 0.5,
        sleep: async (ms) => void pauses.push(ms),
      },
    );
    expect(result).toBe('won');
    expect(calls).toBe(4);
    expect(pauses).toEqual([50, 100, 150]);
  });

  it('gives up after the last attempt with a transient error (503, retry in a second), not the conflict', async () => {
    let calls = 0;
    const failing = withOptimisticRetry(
      async () => {
        calls++;
        throw conflict();
      },
      { attempts: 3, sleep: async () => undefined },
    );
    await expect(failing).rejects.toBeInstanceOf(TransientError);
    await expect(failing).rejects.toMatchObject({ kind: 'transient', retryAfterSeconds: 1 });
    expect(calls).toBe(3);
  });

  it('does not retry any other error', async () => {
    let calls = 0;
    const failing = withOptimisticRetry(
      async () => {
        calls++;
        throw new TransientError('down');
      },
      { sleep: async () => undefined },
    );
    await expect(failing).rejects.toBeInstanceOf(TransientError);
    expect(calls).toBe(1);
  });
});
