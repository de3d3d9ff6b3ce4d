import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { azureCostTables, azureRefusals } from '../../dev/bench/azure-cost-tables.js';
import { type Channel, ipcTables, serveTables } from '../../dev/bench/ipc-tables.js';
import { VersionConflictError } from '../../shared/errors/domain-errors.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { Tables, TableRow, TransactionAction } from '../../shared/storage/versioned-table.js';

interface Row extends TableRow {
  readonly n: number;
  readonly text?: string;
}

/** A clock that only moves when the model sleeps: every wait is recorded, none is real. */
function fakeTime() {
  let at = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => at,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      at += ms;
    },
  };
}

/** The model with its budgets only (no latency), so that the waits are the budgets'. */
function budgetsOnly() {
  const time = fakeTime();
  // As in the bench: the refusals are the storage's, at the far end of the channel.
  const inner = azureRefusals(memoryTables());
  const cost = azureCostTables(inner, { requestMs: 0, writtenEntityMs: 0, returnedEntityMs: 0, ...time });
  return { time, inner, cost };
}

const inserts = (partitionKey: string, from: number, count: number): TransactionAction<Row>[] =>
  Array.from({ length: count }, (_, i) => ({
    kind: 'insert',
    row: { partitionKey, rowKey: String(from + i).padStart(6, '0'), n: from + i },
  }));

/** Transactions of 100 new rows each, the first at row `from`. */
async function writeBatches(tables: Tables, partitionKey: string, batches: number, from = 0): Promise<void> {
  const table = tables.table<Row>('users');
  for (let b = from / 100; b < from / 100 + batches; b++)
    await table.transaction(inserts(partitionKey, b * 100, 100));
}

async function keys(tables: Tables): Promise<string[]> {
  const found: string[] = [];
  for await (const { value } of tables.table<Row>('users').list())
    found.push(`${value.partitionKey}/${value.rowKey}`);
  return found;
}

describe('the bench storage with Azure Table storage costs', () => {
  it('lets a partition take a second of 2,000 entities at once, then makes it wait for its budget', async () => {
    const { time, cost } = budgetsOnly();
    await writeBatches(cost.tables, 'tenant', 20);
    expect(cost.take()).toMatchObject({ requests: 20, entitiesWritten: 2000, partitionWaits: 0 });

    await writeBatches(cost.tables, 'tenant', 1, 2000);
    // 100 entities more at 2,000 a second: 50 ms of waiting, as a 503 and a retry would cost.
    expect(cost.take()).toMatchObject({ partitionWaits: 1, budgetWaitMs: 50 });
    expect(time.sleeps).toEqual([50]);
  });

  it('gives every partition a budget of its own', async () => {
    const { time, cost } = budgetsOnly();
    await writeBatches(cost.tables, 'tenant-a', 20);
    await writeBatches(cost.tables, 'tenant-b', 20);
    expect(cost.take()).toMatchObject({ partitionWaits: 0, budgetWaitMs: 0 });
    expect(time.sleeps).toEqual([]);
  });

  it('charges a listing the entities it returns to their partitions', async () => {
    const { cost } = budgetsOnly();
    await writeBatches(cost.tables, 'tenant', 20);
    cost.take();
    expect(await keys(cost.tables)).toHaveLength(2000);
    // The rows just written spent the partition's second; reading them back waits a second for the budget.
    expect(cost.take()).toMatchObject({ requests: 2, entitiesReturned: 2000, partitionWaits: 2 });
  });

  it('makes the account wait past 20,000 requests a second', async () => {
    const { cost } = budgetsOnly();
    const table = cost.tables.table<Row>('users');
    for (let i = 0; i < 20_001; i++) await table.get(`p${i}`, 'r');
    expect(cost.take()).toMatchObject({ requests: 20_001, accountWaits: 1, partitionWaits: 0 });
  });

  it('adds each request its latency, and a full batch its entities', async () => {
    const time = fakeTime();
    const cost = azureCostTables(memoryTables(), time);
    await writeBatches(cost.tables, 'tenant', 1);
    await cost.tables.table<Row>('users').get('tenant', '000001');
    // 5 ms a request; 0.2 ms an entity written, 0.02 ms an entity returned.
    expect(time.sleeps).toHaveLength(2);
    expect(time.sleeps[0]).toBeCloseTo(25);
    expect(time.sleeps[1]).toBeCloseTo(5.02);
    expect(cost.take().latencyMs).toBeCloseTo(30.02);
  });

  it('refuses a transaction of 101 entities or of 4 MiB, and writes nothing of it', async () => {
    const { cost } = budgetsOnly();
    const table = cost.tables.table<Row>('users');
    await expect(table.transaction(inserts('tenant', 0, 101))).rejects.toThrow(RangeError);
    const wide = 'x'.repeat(32 * 1024);
    const heavy = inserts('tenant', 0, 100).map((action) =>
      action.kind === 'insert' ? { ...action, row: { ...action.row, text: wide, more: wide } } : action,
    );
    await expect(table.transaction(heavy)).rejects.toThrow(/4 MiB/);
    expect(await keys(cost.tables)).toEqual([]);

    // Just under the limit (100 entities of 32 KiB) is a transaction Azure takes.
    const large = inserts('tenant', 0, 100).map((action) =>
      action.kind === 'insert' ? { ...action, row: { ...action.row, text: wide } } : action,
    );
    await table.transaction(large);
    expect(await keys(cost.tables)).toHaveLength(100);
  });

  it('serves pages of at most 1,000 entities', async () => {
    const { cost } = budgetsOnly();
    await writeBatches(cost.tables, 'tenant', 15);
    const sizes: number[] = [];
    for await (const page of cost.tables.table<Row>('users').list().byPage({ maxPageSize: 5000 })) {
      sizes.push(page.rows.length);
    }
    expect(sizes).toEqual([1000, 500]);
  });

  it('answers exactly as the plain twin does, here and across the process boundary', async () => {
    const script = async (tables: Tables) => {
      const table = tables.table<Row>('users');
      const seen: unknown[] = [];
      const attempt = async (run: () => Promise<unknown>) => {
        try {
          seen.push(await run());
        } catch (error) {
          seen.push(error instanceof VersionConflictError ? 'conflict' : String(error));
        }
      };
      await attempt(() => table.transaction(inserts('b', 0, 3)));
      await attempt(() => table.insert({ partitionKey: 'a', rowKey: '1', n: 1 }));
      await attempt(() => table.insert({ partitionKey: 'a', rowKey: '1', n: 2 }));
      await attempt(() => table.replace({ partitionKey: 'a', rowKey: '1', n: 3 }, 'W/"stale"'));
      await attempt(() => table.upsert({ partitionKey: 'a', rowKey: '2', n: 4 }));
      await attempt(() => table.delete('a', '2'));
      await attempt(() => table.delete('a', '2'));
      await attempt(() => table.get('a', '1'));
      await attempt(() => table.transaction([{ kind: 'delete', partitionKey: 'b', rowKey: 'gone' }]));
      for await (const page of table.list({ where: [['n', 'ge', 0]] }).byPage({ maxPageSize: 2 })) {
        seen.push(page);
      }
      return seen;
    };
    const plain = await script(memoryTables());
    expect(await script(azureCostTables(memoryTables(), fakeTime()).tables)).toEqual(plain);

    // The bench's tables: the twin in one process, the model in the other, messages structured-cloned between.
    const parent = new EventEmitter();
    const child = new EventEmitter();
    const end = (self: EventEmitter, other: EventEmitter): Channel => ({
      on: (event, listener) => self.on(event, listener),
      send: (message) => setImmediate(() => other.emit('message', structuredClone(message))),
    });
    serveTables(end(parent, child), memoryTables());
    const remote = azureCostTables(ipcTables(end(child, parent)), fakeTime()).tables;
    expect(await script(remote)).toEqual(plain);
  });
});
