import {
  type KeyRange,
  prefixEnd,
  type Stored,
  type TableRow,
  type Tables,
  type TransactionAction,
  type VersionedTable,
  withOptimisticRetry,
} from '../storage/versioned-table.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { CUSTOMER_STATES, type Customer, LICENSE_TYPES } from './customer.js';
import {
  type CustomerChanges,
  type CustomerCommit,
  type CustomerFilter,
  type CustomerListItem,
  type CustomerRecord,
  type CustomerStore,
  type CustomerSummary,
  EMPTY_SUMMARY,
  type LicenseAllocation,
  type NewCustomer,
  type SummaryChange,
  type VersionedAllocation,
} from './customer-store.js';
import { customerWords, matchesWords } from './search-words.js';
import { shortNameKey } from './short-name.js';

export const CUSTOMERS_TABLE = 'customers';
/**
 * One partition holds the provider's customers, their summaries, their index rows and the allocation, so that a
 * customer's change and everything derived from it are one transaction. Rows, in key order:
 * - `{key}`: the customer; `{key}!summary` right after it ("!" sorts before every Short Name character), so that the
 *   list's one range query reads both;
 * - `~ix!{dimension}!{value}!{key}`: index rows (state, type, channel, word), each a copy of the list's fields;
 * - `~license-allocation`.
 */
const PARTITION = 'provider';
/** Sorts after every Short Name key, which holds only letters, digits and hyphens. */
const ALLOCATION_ROW = '~license-allocation';
const SUMMARY_SUFFIX = '!summary';
const INDEX_PREFIX = '~ix!';
/** Azure's most rows a query page returns. */
const MAX_PAGE_SIZE = 1000;

type Dimension = 'state' | 'type' | 'channel' | 'word';

type CustomerEntity = {
  partitionKey: string;
  rowKey: string;
  shortName: string;
  fullName: string;
  licenseType: string;
  licensedUsers: number;
  state: string;
  createdAt: string;
  updatedAt: string;
};

type AllocationEntity = {
  partitionKey: string;
  rowKey: string;
  customers: number;
  users: number;
};

type SummaryFields = {
  queuedCommands: number;
  executingCommands: number;
  replicationInProgress: boolean;
  lastReplicationAt?: string;
  channelId?: string;
};

type SummaryEntity = SummaryFields & {
  partitionKey: string;
  rowKey: string;
  /** JSON array of the index rows' keys this customer has: what a later write replaces or deletes. */
  indexKeys: string;
};

/** A copy of the customer and its summary, under one index key. */
type IndexEntity = Omit<CustomerEntity, 'partitionKey' | 'rowKey'> &
  SummaryFields & { partitionKey: string; rowKey: string; key: string };

type AnyEntity = CustomerEntity | AllocationEntity | SummaryEntity | IndexEntity;

const isSummaryKey = (rowKey: string) => rowKey.endsWith(SUMMARY_SUFFIX);
const isIndexKey = (rowKey: string) => rowKey.startsWith(INDEX_PREFIX);
const summaryKey = (key: string) => key + SUMMARY_SUFFIX;
const indexPrefix = (dimension: Dimension, value: string) => `${INDEX_PREFIX}${dimension}!${value}!`;

export function createCustomerStore(tables: Tables): CustomerStore {
  const allocations = tables.table<AllocationEntity>(CUSTOMERS_TABLE);
  const customers = tables.table<CustomerEntity>(CUSTOMERS_TABLE);
  const summaries = tables.table<SummaryEntity>(CUSTOMERS_TABLE);
  const indexes = tables.table<IndexEntity>(CUSTOMERS_TABLE);
  const all = tables.table<AnyEntity>(CUSTOMERS_TABLE);

  function allocationAction(value: LicenseAllocation, etag: string | null): TransactionAction<AnyEntity> {
    const row: AllocationEntity = { partitionKey: PARTITION, rowKey: ALLOCATION_ROW, ...value };
    return etag === null ? { kind: 'insert', row } : { kind: 'replace', row, etag };
  }

  /**
   * The customer and its summary: two point reads at once. (A range query from one to the other returns the same two
   * rows, but the storage emulator answers any query by scanning the table, and point reads cost the same on Azure.)
   */
  async function pair(shortName: string) {
    const key = shortNameKey(shortName);
    const [customer, summary] = await Promise.all([
      customers.get(PARTITION, key),
      summaries.get(PARTITION, summaryKey(key)),
    ]);
    return { key, customer, summary };
  }

  async function read(shortName: string): Promise<CustomerRecord | null> {
    const { customer, summary } = await pair(shortName);
    if (!customer) return null;
    const value = summary ? toSummary(summary.value) : EMPTY_SUMMARY;
    return {
      customer: toCustomer(customer, value),
      summary: value,
      summaryEtag: summary?.etag ?? null,
      indexKeys: summary ? indexKeysOf(summary.value) : [],
    };
  }

  function changed(record: CustomerRecord, { at, ...fields }: CustomerChanges) {
    const next: Customer = { ...record.customer, ...fields, updatedAt: at };
    const entity = toEntity(next);
    // A summary that changed meanwhile is a conflict like any other: the caller's retry reads it again, and the
    // customer's own ETag tells whether the caller's copy is stale (customer-service.ts).
    const actions: TransactionAction<AnyEntity>[] = [
      { kind: 'replace', row: entity, etag: record.customer.etag },
      ...derivedActions(entity, record.summary, record.summaryEtag, record.indexKeys),
    ];
    return { next, actions };
  }

  async function commit({ inserts = [], updates = [], allocation }: CustomerCommit) {
    const entities = inserts.map(newEntity);
    // The customer's row first, then what derives from it: each customer's ETag is at its first action.
    const actions: TransactionAction<AnyEntity>[] = [];
    const firstActions: number[] = [];
    for (const entity of entities) {
      firstActions.push(actions.length);
      // A new customer starts with an empty summary, whatever a namesake removed before left behind.
      actions.push({ kind: 'insert', row: entity }, ...derivedActions(entity, EMPTY_SUMMARY, null, []));
    }
    const nexts = updates.map(({ record, changes }) => {
      firstActions.push(actions.length);
      const { next, actions: own } = changed(record, changes);
      actions.push(...own);
      return next;
    });
    if (allocation) actions.push(allocationAction(allocation.value, allocation.etag));
    const etags = await all.transaction(actions);
    const etagOf = (i: number) => etags[firstActions[i] ?? 0] ?? '';
    return {
      inserted: entities.map((value, i) => toCustomer({ value, etag: etagOf(i) }, EMPTY_SUMMARY)),
      updated: nexts.map((next, i) => ({ ...next, etag: etagOf(entities.length + i) })),
    };
  }

  /**
   * The actions that make the summary and the index rows what `customer` and `summary` say: the summary row guarded
   * by its ETag (so that two writers of the index rows never interleave), the index rows it no longer names deleted.
   */
  function derivedActions(
    customer: CustomerEntity,
    summary: CustomerSummary,
    summaryEtag: string | null,
    present: readonly string[],
  ): TransactionAction<AnyEntity>[] {
    const rows = indexRows(customer, summary);
    const row = toSummaryEntity(
      customer.rowKey,
      summary,
      rows.map((r) => r.rowKey),
    );
    const keep = new Set(rows.map((r) => r.rowKey));
    const stale = present.filter((k) => !keep.has(k));
    return [
      summaryEtag !== null ? { kind: 'replace', row, etag: summaryEtag } : { kind: 'upsert', row },
      ...rows.map((r): TransactionAction<AnyEntity> => ({ kind: 'upsert', row: r })),
      ...stale.map((k): TransactionAction<AnyEntity> => ({
        kind: 'delete',
        partitionKey: PARTITION,
        rowKey: k,
      })),
    ];
  }

  /** Rows a page at a time, `pageSize` each: the storage returns (and the SDK parses) no more than a list shows. */
  async function* rowsOf<T extends TableRow>(
    table: VersionedTable<T>,
    rowKey: KeyRange,
    pageSize: number,
  ): AsyncIterable<Stored<T>> {
    const pages = table.list({ partitionKey: PARTITION, rowKey }).byPage({
      maxPageSize: Math.min(MAX_PAGE_SIZE, pageSize),
    });
    for await (const page of pages) yield* page.rows;
  }

  async function* items(
    rowKey: { gt: string; lt: string },
    pageSize = MAX_PAGE_SIZE,
  ): AsyncIterable<CustomerListItem> {
    let pending: Stored<CustomerEntity> | null = null;
    for await (const row of rowsOf(all, rowKey, pageSize)) {
      const rk = row.value.rowKey;
      if (isSummaryKey(rk)) {
        // A summary whose customer is gone (or before the cursor) belongs to no row of the list.
        if (pending && summaryKey(pending.value.rowKey) === rk) {
          yield toItem(pending.value, toSummary(row.value as SummaryEntity));
          pending = null;
        }
        continue;
      }
      if (pending) yield toItem(pending.value, EMPTY_SUMMARY);
      pending = row as Stored<CustomerEntity>;
    }
    if (pending) yield toItem(pending.value, EMPTY_SUMMARY);
  }

  async function* indexed(
    prefix: string,
    afterKey: string,
    pageSize: number,
  ): AsyncIterable<CustomerListItem> {
    for await (const { value } of rowsOf(
      indexes,
      { gt: prefix + afterKey, lt: prefixEnd(prefix) },
      pageSize,
    )) {
      yield fromIndex(value);
    }
  }

  /** The index that narrows the list most: a channel has few customers, a State or License Type many. */
  function driver(filter: CustomerFilter): string | null {
    if (filter.channelId !== undefined) return indexPrefix('channel', filter.channelId.toLowerCase());
    if (filter.state !== undefined) return indexPrefix('state', filter.state);
    if (filter.licenseType !== undefined) return indexPrefix('type', filter.licenseType);
    return null;
  }

  async function firstMatches(source: AsyncIterable<CustomerListItem>, filter: CustomerFilter, top: number) {
    const found: CustomerListItem[] = [];
    for await (const item of source) {
      if (!matches(item, filter)) continue;
      if (found.length === top) return { items: found, nextKey: found[found.length - 1]?.key ?? null };
      found.push(item);
    }
    return { items: found, nextKey: null };
  }

  return {
    async getAllocation(): Promise<VersionedAllocation> {
      const found = await allocations.get(PARTITION, ALLOCATION_ROW);
      if (!found) return { allocation: { customers: 0, users: 0 }, etag: null };
      return { allocation: { customers: found.value.customers, users: found.value.users }, etag: found.etag };
    },

    async get(shortName) {
      return (await read(shortName))?.customer ?? null;
    },

    read,

    async page({ top, afterKey = '', filter = {} }) {
      const words = filter.words ?? [];
      if (filter.keys === undefined && words.length > 0) {
        // Word rows are ordered by word, then customer: every customer a word starts is read, then put in order.
        const longest = words.reduce((a, b) => (b.length > a.length ? b : a));
        const prefix = `${INDEX_PREFIX}word!${longest}`;
        const byKey = new Map<string, CustomerListItem>();
        for await (const { value } of indexes.list({
          partitionKey: PARTITION,
          rowKey: { ge: prefix, lt: prefixEnd(prefix) },
        })) {
          if (value.key > afterKey && !byKey.has(value.key)) byKey.set(value.key, fromIndex(value));
        }
        const sorted = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        return firstMatches(toAsync(sorted), filter, top);
      }
      const prefix = filter.keys === undefined ? driver(filter) : null;
      // One more than the page, to tell whether more follow; a customer is two rows (its own and its summary).
      const source = prefix
        ? indexed(prefix, afterKey, top + 1)
        : items({ gt: afterKey, lt: '~' }, 2 * (top + 1));
      return firstMatches(source, filter, top);
    },

    list: () => items({ gt: '', lt: '~' }),

    insertActions: (customer) => 1 + derivedActions(newEntity(customer), EMPTY_SUMMARY, null, []).length,

    updateActions: (record, changes) => changed(record, changes).actions.length,

    commit,

    async update(current, changes) {
      const record = await read(current.shortName);
      // Guarded by the caller's version of the customer, with the summary as it is now.
      const { updated } = await commit({
        updates: [{ record: { ...(record ?? emptyRecord(current)), customer: current }, changes }],
      });
      return updated[0] ?? current;
    },

    async updateSummary(shortName, change) {
      await withOptimisticRetry(async () => {
        const { customer, summary } = await pair(shortName);
        if (!customer) return;
        const current = summary ? toSummary(summary.value) : EMPTY_SUMMARY;
        const next = applyChange(current, change);
        if (summary && sameSummary(current, next)) return;
        await all.transaction(
          derivedActions(
            customer.value,
            next,
            summary?.etag ?? null,
            summary ? indexKeysOf(summary.value) : [],
          ),
        );
      });
    },

    async reconcile(truth) {
      const found = new Map<string, Stored<CustomerEntity>>();
      const summaryRows = new Map<string, Stored<SummaryEntity>>();
      const indexByCustomer = new Map<string, IndexEntity[]>();
      for await (const row of all.list({ partitionKey: PARTITION })) {
        const rk = row.value.rowKey;
        if (rk === ALLOCATION_ROW) continue;
        if (isIndexKey(rk)) {
          const value = row.value as IndexEntity;
          indexByCustomer.set(value.key, [...(indexByCustomer.get(value.key) ?? []), value]);
        } else if (isSummaryKey(rk)) {
          summaryRows.set(rk.slice(0, -SUMMARY_SUFFIX.length), row as Stored<SummaryEntity>);
        } else {
          found.set(rk, row as Stored<CustomerEntity>);
        }
      }
      let repaired = 0;
      for (const [key, customer] of found) {
        const stored = summaryRows.get(key) ?? null;
        const current = stored ? toSummary(stored.value) : EMPTY_SUMMARY;
        const expected = await truth(toItem(customer.value, current));
        const present = indexByCustomer.get(key) ?? [];
        if (stored && isConsistent(customer.value, expected, stored.value, present)) continue;
        repaired++;
        try {
          // No deletes in the transaction: a wrong summary may name rows that are not there, and strays may be many.
          await all.transaction(derivedActions(customer.value, expected, stored?.etag ?? null, []));
        } catch (error) {
          // Someone wrote this customer meanwhile: the next run looks at it again.
          if (!(error instanceof VersionConflictError)) throw error;
          continue;
        }
        const wanted = new Set(indexRows(customer.value, expected).map((r) => r.rowKey));
        for (const row of present) if (!wanted.has(row.rowKey)) await indexes.delete(PARTITION, row.rowKey);
      }
      // What a removed customer left behind (a write that raced its removal).
      for (const key of summaryRows.keys()) {
        if (!found.has(key)) await summaries.delete(PARTITION, summaryKey(key));
      }
      for (const [key, rows] of indexByCustomer) {
        if (found.has(key)) continue;
        for (const row of rows) await indexes.delete(PARTITION, row.rowKey);
      }
      return repaired;
    },

    async remove(current, allocation, allocationEtag) {
      const { summary } = await pair(current.shortName);
      const key = shortNameKey(current.shortName);
      const derived = summary
        ? [summaryKey(key), ...indexKeysOf(summary.value)].map((rowKey): TransactionAction<AnyEntity> => ({
            kind: 'delete',
            partitionKey: PARTITION,
            rowKey,
          }))
        : [];
      await all.transaction([
        // A transaction's delete is unconditional; a customer Ready for remove no longer changes (the service refuses).
        { kind: 'delete', partitionKey: PARTITION, rowKey: key },
        ...derived,
        allocationAction(allocation, allocationEtag),
      ]);
    },
  };
}

async function* toAsync<T>(values: readonly T[]): AsyncIterable<T> {
  yield* values;
}

function matches(item: CustomerListItem, filter: CustomerFilter): boolean {
  return (
    (filter.keys === undefined || filter.keys.has(item.key)) &&
    (filter.state === undefined || item.state === filter.state) &&
    (filter.licenseType === undefined || item.licenseType === filter.licenseType) &&
    (filter.channelId === undefined || item.channelId === filter.channelId.toLowerCase()) &&
    (filter.words === undefined || matchesWords(filter.words, customerWords(item)))
  );
}

function applyChange(current: CustomerSummary, change: SummaryChange): CustomerSummary {
  const lastReplicationAt =
    change.lastReplicationAt !== undefined && change.lastReplicationAt > (current.lastReplicationAt ?? '')
      ? change.lastReplicationAt
      : current.lastReplicationAt;
  return {
    activity: {
      ...current.activity,
      ...change.counts,
      ...(change.replicationInProgress !== undefined
        ? { replicationInProgress: change.replicationInProgress }
        : {}),
    },
    channelId: change.channelId !== undefined ? change.channelId : current.channelId,
    lastReplicationAt,
  };
}

function sameSummary(a: CustomerSummary, b: CustomerSummary): boolean {
  return JSON.stringify(summaryFields(a)) === JSON.stringify(summaryFields(b));
}

function isConsistent(
  customer: CustomerEntity,
  expected: CustomerSummary,
  stored: SummaryEntity,
  present: readonly IndexEntity[],
): boolean {
  if (!sameSummary(toSummary(stored), expected)) return false;
  const wanted = indexRows(customer, expected);
  if (JSON.stringify(wanted.map((r) => r.rowKey)) !== stored.indexKeys || present.length !== wanted.length)
    return false;
  const byKey = new Map(present.map((r) => [r.rowKey, r]));
  return wanted.every((w) => {
    const p = byKey.get(w.rowKey);
    return p !== undefined && JSON.stringify(projectionOf(p)) === JSON.stringify(projectionOf(w));
  });
}

function summaryFields(summary: CustomerSummary): SummaryFields {
  return {
    queuedCommands: summary.activity.queuedCommands,
    executingCommands: summary.activity.executingCommands,
    replicationInProgress: summary.activity.replicationInProgress,
    ...(summary.lastReplicationAt ? { lastReplicationAt: summary.lastReplicationAt } : {}),
    ...(summary.channelId ? { channelId: summary.channelId } : {}),
  };
}

function toSummaryEntity(key: string, summary: CustomerSummary, indexKeys: readonly string[]): SummaryEntity {
  return {
    partitionKey: PARTITION,
    rowKey: summaryKey(key),
    ...summaryFields(summary),
    indexKeys: JSON.stringify(indexKeys),
  };
}

function newEntity(customer: NewCustomer): CustomerEntity {
  return toEntity({ ...customer, createdAt: customer.at, updatedAt: customer.at });
}

/** A customer read without its summary (gone meanwhile: the replace of the customer fails as a conflict). */
function emptyRecord(customer: Customer): CustomerRecord {
  return { customer, summary: EMPTY_SUMMARY, summaryEtag: null, indexKeys: [] };
}

function indexKeysOf(summary: SummaryEntity): string[] {
  const parsed: unknown = JSON.parse(summary.indexKeys || '[]');
  return Array.isArray(parsed) ? parsed.filter((k): k is string => typeof k === 'string') : [];
}

function toSummary(entity: SummaryFields): CustomerSummary {
  return {
    activity: {
      queuedCommands: entity.queuedCommands,
      executingCommands: entity.executingCommands,
      replicationInProgress: entity.replicationInProgress,
    },
    lastReplicationAt: entity.lastReplicationAt ?? null,
    channelId: entity.channelId ?? null,
  };
}

/** The index rows a customer is found by, each a copy of what the list shows. */
function indexRows(customer: CustomerEntity, summary: CustomerSummary): IndexEntity[] {
  const key = customer.rowKey;
  const copy = {
    partitionKey: PARTITION,
    key,
    shortName: customer.shortName,
    fullName: customer.fullName,
    licenseType: customer.licenseType,
    licensedUsers: customer.licensedUsers,
    state: customer.state,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
    ...summaryFields(summary),
  };
  const keys = [
    indexPrefix('state', customer.state) + key,
    indexPrefix('type', customer.licenseType) + key,
    ...(summary.channelId ? [indexPrefix('channel', summary.channelId) + key] : []),
    ...customerWords(customer).map((word) => indexPrefix('word', word) + key),
  ];
  return keys.map((rowKey) => ({ ...copy, rowKey }));
}

function projectionOf(row: IndexEntity): Omit<IndexEntity, 'partitionKey' | 'rowKey'> & TableRow {
  // Property order as indexRows writes it, so that a stored copy and a fresh one compare as JSON.
  return {
    partitionKey: row.partitionKey,
    rowKey: row.rowKey,
    key: row.key,
    shortName: row.shortName,
    fullName: row.fullName,
    licenseType: row.licenseType,
    licensedUsers: row.licensedUsers,
    state: row.state,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    queuedCommands: row.queuedCommands,
    executingCommands: row.executingCommands,
    replicationInProgress: row.replicationInProgress,
    ...(row.lastReplicationAt ? { lastReplicationAt: row.lastReplicationAt } : {}),
    ...(row.channelId ? { channelId: row.channelId } : {}),
  };
}

function toEntity(
  customer: Pick<
    Customer,
    'shortName' | 'fullName' | 'licenseType' | 'licensedUsers' | 'state' | 'createdAt' | 'updatedAt'
  >,
): CustomerEntity {
  return {
    partitionKey: PARTITION,
    rowKey: shortNameKey(customer.shortName),
    shortName: customer.shortName,
    fullName: customer.fullName,
    licenseType: customer.licenseType,
    licensedUsers: customer.licensedUsers,
    state: customer.state,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
  };
}

function plainCustomer(entity: Omit<CustomerEntity, 'partitionKey' | 'rowKey'>, summary: CustomerSummary) {
  const licenseType = LICENSE_TYPES.find((t) => t === entity.licenseType);
  const state = CUSTOMER_STATES.find((s) => s === entity.state);
  if (!licenseType || !state)
    throw new Error(`Stored customer ${entity.shortName} has an unknown license type or state.`);
  return {
    id: entity.shortName,
    fullName: entity.fullName,
    shortName: entity.shortName,
    licenseType,
    licensedUsers: entity.licensedUsers,
    state,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
    lastReplicationAt: summary.lastReplicationAt,
  };
}

function toCustomer({ value, etag }: Stored<CustomerEntity>, summary: CustomerSummary): Customer {
  return { ...plainCustomer(value, summary), etag };
}

function toItem(entity: CustomerEntity, summary: CustomerSummary): CustomerListItem {
  return {
    ...plainCustomer(entity, summary),
    key: entity.rowKey,
    activity: summary.activity,
    channelId: summary.channelId,
  };
}

function fromIndex(row: IndexEntity): CustomerListItem {
  const summary = toSummary(row);
  return {
    ...plainCustomer(row, summary),
    key: row.key,
    activity: summary.activity,
    channelId: summary.channelId,
  };
}
