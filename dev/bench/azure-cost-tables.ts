import {
  MAX_TRANSACTION_ACTIONS,
  type Page,
  type PageSettings,
  type RowIterator,
  type Stored,
  type TableRow,
  type Tables,
  type TransactionAction,
  type VersionedTable,
} from '../../shared/storage/versioned-table.js';

/**
 * Azure Table storage's documented targets ("Scalability and performance targets for Table storage",
 * https://learn.microsoft.com/en-us/azure/storage/tables/scalability-targets): a partition serves up to 2,000
 * (1 KiB) entities a second, an account up to 20,000 transactions a second, an entity group transaction holds up to
 * 100 entities of one partition with a payload under 4 MiB; a query returns at most 1,000 entities a page
 * (https://learn.microsoft.com/en-us/rest/api/storageservices/query-timeout-and-pagination).
 */
export const AZURE_TABLE_TARGETS = {
  partitionEntitiesPerSecond: 2_000,
  accountRequestsPerSecond: 20_000,
  transactionEntities: MAX_TRANSACTION_ACTIONS,
  transactionBytes: 4 * 1024 * 1024,
  pageEntities: 1_000,
};

export interface AzureCostOptions {
  /**
   * What every request takes for a client in the storage account's region, answer included. Default 5 ms: Azure
   * quotes no figure for Table storage, and same-region point operations are commonly measured at 3–10 ms end to
   * end (Cosmos DB's Table API guarantees < 10 ms for point reads and writes at p99).
   */
  readonly requestMs?: number;
  /** Added per entity a request writes (a transaction's payload, its commit). Default 0.2 ms: 25 ms a full batch. */
  readonly writtenEntityMs?: number;
  /** Added per entity a request returns (a page's transfer and parse). Default 0.02 ms: 25 ms a full page. */
  readonly returnedEntityMs?: number;
  /**
   * How much of a budget may be spent at once: the partition's entities and the account's requests of this many
   * milliseconds of its rate. Default 1,000 (a second's worth, as the targets are per second).
   */
  readonly burstMs?: number;
  /** Milliseconds, any origin; injectable so that tests need no real time. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the storage charged since the last `take()`. */
export interface AzureCostStats {
  readonly requests: number;
  readonly entitiesWritten: number;
  readonly entitiesReturned: number;
  /** Requests that found their partition's entity budget spent and waited (Azure: a 503 Server Busy, retried). */
  readonly partitionWaits: number;
  /** Requests that found the account's request budget spent and waited. */
  readonly accountWaits: number;
  /** The time those waits took, in all. */
  readonly budgetWaitMs: number;
  /** The requests' modelled latency, in all (requests in parallel overlap). */
  readonly latencyMs: number;
}

export interface AzureCostTables {
  readonly tables: Tables;
  /** The charges since the last call (or since the start), and starts counting anew. */
  take(): AzureCostStats;
}

/** A budget refilled at `perMs` units a millisecond, `burst` units deep; reservations are kept in order of arrival. */
interface Budget {
  /** When the budget would be whole again were nothing more spent (a GCRA's theoretical arrival time). */
  fullAt: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Tables that take as long as Azure Table storage would: each call waits for its partition's entity budget and the
 * account's request budget, then for its latency. Only time is added, as waiting (timers), never as CPU: rows,
 * ETags, conflicts, order and continuation are `inner`'s, and so are the refusals of what the service refuses
 * (`azureRefusals` at the storage's end of the bench's channel: the service's check costs the product no CPU).
 */
export function azureCostTables(inner: Tables, options: AzureCostOptions = {}): AzureCostTables {
  const requestMs = options.requestMs ?? 5;
  const writtenEntityMs = options.writtenEntityMs ?? 0.2;
  const returnedEntityMs = options.returnedEntityMs ?? 0.02;
  const burstMs = options.burstMs ?? 1_000;
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? realSleep;
  const partitionPerMs = AZURE_TABLE_TARGETS.partitionEntitiesPerSecond / 1000;
  const accountPerMs = AZURE_TABLE_TARGETS.accountRequestsPerSecond / 1000;
  const partitions = new Map<string, Budget>();
  const account: Budget = { fullAt: -Infinity };
  let stats = emptyStats();

  /** Reserves `units` of `budget` now; returns how long the caller must wait for them. */
  function reserve(budget: Budget, units: number, perMs: number): number {
    const at = now();
    budget.fullAt = Math.max(budget.fullAt, at) + units / perMs;
    return Math.max(0, budget.fullAt - burstMs - at);
  }

  /** The wait for one request touching these partitions' entities (table and PartitionKey: Azure's partition). */
  function budgetWait(entitiesByPartition: ReadonlyMap<string, number>): number {
    let wait = reserve(account, 1, accountPerMs);
    if (wait > 0) stats.accountWaits++;
    let partitionWait = 0;
    for (const [partition, entities] of entitiesByPartition) {
      if (entities === 0) continue;
      let budget = partitions.get(partition);
      if (!budget) partitions.set(partition, (budget = { fullAt: -Infinity }));
      partitionWait = Math.max(partitionWait, reserve(budget, entities, partitionPerMs));
    }
    if (partitionWait > 0) stats.partitionWaits++;
    wait = Math.max(wait, partitionWait);
    stats.budgetWaitMs += wait;
    stats.requests++;
    return wait;
  }

  /** Waits out what `inner` did not take of the request's latency (it may be a round trip itself). */
  async function answer(startedAt: number, latency: number): Promise<void> {
    stats.latencyMs += latency;
    const left = latency - (now() - startedAt);
    if (left > 0) await sleep(left);
  }

  /** A write of `entities` rows of one partition: its budgets before it, its latency after. */
  async function write<R>(table: string, partitionKey: string, entities: number, run: () => Promise<R>) {
    const wait = budgetWait(new Map([[`${table}\u0000${partitionKey}`, entities]]));
    if (wait > 0) await sleep(wait);
    stats.entitiesWritten += entities;
    const startedAt = now();
    try {
      return await run();
    } finally {
      await answer(startedAt, requestMs + entities * writtenEntityMs);
    }
  }

  /** A read that returned `rows`: charged when its entities are known, as Azure throttles the next request. */
  async function read(table: string, startedAt: number, rows: readonly TableRow[]): Promise<void> {
    const byPartition = new Map<string, number>();
    for (const row of rows) {
      const key = `${table}\u0000${row.partitionKey}`;
      byPartition.set(key, (byPartition.get(key) ?? 0) + 1);
    }
    const elapsed = now() - startedAt;
    const wait = budgetWait(byPartition);
    const latency = requestMs + rows.length * returnedEntityMs;
    stats.entitiesReturned += rows.length;
    stats.latencyMs += latency;
    const left = wait + Math.max(0, latency - elapsed);
    if (left > 0) await sleep(left);
  }

  return {
    tables: {
      table<T extends TableRow>(name: string): VersionedTable<T> {
        const table = inner.table<T>(name);
        const writeRow = <R>(row: TableRow, run: () => Promise<R>) => write(name, row.partitionKey, 1, run);
        return {
          async get(partitionKey, rowKey) {
            const startedAt = now();
            const found = await table.get(partitionKey, rowKey);
            // A point read costs its partition an entity whether or not the row is there.
            await read(name, startedAt, [{ partitionKey, rowKey }]);
            return found;
          },
          insert: (row) => writeRow(row, () => table.insert(row)),
          replace: (row, etag) => writeRow(row, () => table.replace(row, etag)),
          upsert: (row) => writeRow(row, () => table.upsert(row)),
          delete: (partitionKey, rowKey, etag) =>
            writeRow({ partitionKey, rowKey }, () => table.delete(partitionKey, rowKey, etag)),
          async transaction(actions) {
            const first = actions[0];
            const partitionKey = first ? keyOf(first).partitionKey : '';
            return write(name, partitionKey, actions.length, () => table.transaction(actions));
          },
          list(listOptions) {
            const listing = table.list(listOptions);
            async function* pages(settings: PageSettings = {}): AsyncIterableIterator<Page<T>> {
              const maxPageSize = Math.min(
                settings.maxPageSize ?? AZURE_TABLE_TARGETS.pageEntities,
                AZURE_TABLE_TARGETS.pageEntities,
              );
              const source = listing.byPage({ ...settings, maxPageSize });
              for (;;) {
                const startedAt = now();
                const next = await source.next();
                if (next.done) return;
                await read(
                  name,
                  startedAt,
                  next.value.rows.map(({ value }) => value),
                );
                yield next.value;
              }
            }
            async function* all(): AsyncIterableIterator<Stored<T>> {
              for await (const page of pages()) yield* page.rows;
            }
            return Object.assign(all(), { byPage: pages }) as RowIterator<T>;
          },
        };
      },
    },
    take() {
      const taken = stats;
      stats = emptyStats();
      return taken;
    },
  };
}

/** Costs of no request: a fresh count, and what a cycle that ran without the cost model reports. */
export function emptyStats(): {
  -readonly [K in keyof AzureCostStats]: AzureCostStats[K];
} {
  return {
    requests: 0,
    entitiesWritten: 0,
    entitiesReturned: 0,
    partitionWaits: 0,
    accountWaits: 0,
    budgetWaitMs: 0,
    latencyMs: 0,
  };
}

function keyOf<T extends TableRow>(action: TransactionAction<T>): TableRow {
  return 'row' in action ? action.row : action;
}

/**
 * Tables that refuse what Azure Table storage refuses (a transaction of more than 100 entities or 4 MiB) before
 * anything is written, as the product must never send them: the service's side of the bench's twin.
 */
export function azureRefusals(inner: Tables): Tables {
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const table = inner.table<T>(name);
      return {
        ...table,
        transaction(actions) {
          refuseOversized(actions);
          return table.transaction(actions);
        },
      };
    },
  };
}

/** The service's refusals of an entity group transaction, thrown as the storage kit throws its own (RangeError). */
function refuseOversized<T extends TableRow>(actions: readonly TransactionAction<T>[]): void {
  if (actions.length > AZURE_TABLE_TARGETS.transactionEntities) {
    throw new RangeError(`A transaction holds at most ${AZURE_TABLE_TARGETS.transactionEntities} actions.`);
  }
  // The exact size costs a serialisation; only a batch whose bound reaches the limit pays it.
  if (actions.reduce((sum, action) => sum + payloadBound(action), 0) < AZURE_TABLE_TARGETS.transactionBytes)
    return;
  const bytes = actions.reduce((sum, action) => sum + payloadBytes(action), 0);
  if (bytes >= AZURE_TABLE_TARGETS.transactionBytes) {
    throw new RangeError(`A transaction's payload must be under 4 MiB (this one: about ${bytes} bytes).`);
  }
}

const PART_HEADER_BYTES = 200;

/** At least `payloadBytes`: three UTF-8 bytes a UTF-16 unit, quotes and separators, JSON's widest number. */
function payloadBound<T extends TableRow>(action: TransactionAction<T>): number {
  const entity: object = 'row' in action ? action.row : action;
  let bytes = PART_HEADER_BYTES + 2;
  for (const [key, value] of Object.entries(entity)) {
    bytes += 3 * key.length + 4 + (typeof value === 'string' ? 6 * value.length + 2 : 24);
  }
  return bytes;
}

/** An action's share of the batch request: its part's headers (about 200 bytes) and its entity as JSON. */
function payloadBytes<T extends TableRow>(action: TransactionAction<T>): number {
  const entity = 'row' in action ? action.row : { PartitionKey: action.partitionKey, RowKey: action.rowKey };
  return PART_HEADER_BYTES + Buffer.byteLength(JSON.stringify(entity), 'utf8');
}
