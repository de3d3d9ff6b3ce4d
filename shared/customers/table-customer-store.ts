import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  type ListOptions,
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
/** The search words' index rows: PartitionKey `word!{word}`, RowKey the customer's key. */
export const CUSTOMER_WORDS_TABLE = 'customerwords';
/** The filters' index rows: PartitionKey `state!{state}`, `type!{licenseType}` or `channel!{channelId}`, RowKey the key. */
export const CUSTOMER_FILTERS_TABLE = 'customerfilters';
/**
 * One partition of the customers table holds the provider's customers and the allocation, so that a customer's change
 * and the licenses it holds are one transaction. Rows, in key order:
 * - `{key}`: the customer with its summary (the list's activity columns, last replication, channel), so that reading
 *   a customer is one point read and a page of the list one row per customer. The API's ETag is a version of the
 *   customer's own fields (versionOf), not the row's, so that a task moving or a replication running never refuses a
 *   portal's If-Match (docs/decisions.md, 50);
 * - `~license-allocation`.
 * The index rows (each a copy of the list's fields) live in tables of their own, written after the transaction and
 * repaired by the reconciliation (docs/decisions.md, 48): kept beside the customers they made every read of a
 * customer and every list slower in proportion to them in the storage emulator, which scans a partition for a point
 * read and a table for a query.
 */
const PARTITION = 'provider';
/** Sorts after every Short Name key, which holds only letters, digits and hyphens. */
const ALLOCATION_ROW = '~license-allocation';
/**
 * Rows of former layouts, which the reconciliation deletes: a customer's summary was a row of its own, `{key}!summary`,
 * and index rows were kept in this partition under `~ix!`.
 */
const LEGACY_SUMMARY_SUFFIX = '!summary';
const LEGACY_INDEX_PREFIX = '~ix!';
/** Azure's most rows a query page returns. */
const MAX_PAGE_SIZE = 1000;
/**
 * How often an index write is redone after a concurrent change of the same customer before it is left to the
 * reconciliation: each round writes what the customer is now, so a second round is already rare.
 */
const INDEX_SYNC_ROUNDS = 4;

type Dimension = 'state' | 'type' | 'channel' | 'word';
const DIMENSIONS: readonly Dimension[] = ['state', 'type', 'channel', 'word'];
const INDEX_TABLE: Readonly<Record<Dimension, string>> = {
  state: CUSTOMER_FILTERS_TABLE,
  type: CUSTOMER_FILTERS_TABLE,
  channel: CUSTOMER_FILTERS_TABLE,
  word: CUSTOMER_WORDS_TABLE,
};
const INDEX_TABLES = [...new Set(Object.values(INDEX_TABLE))];

/** What the customer is, as its ETag versions it. */
type CustomerFields = {
  /** Absent from rows written before customers had one: see uidOf. */
  uid?: string;
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

/**
 * The customer's row. The index rows it has are not named here: they follow from the customer and its summary
 * (indexRows), so a change knows which rows the version it replaces had. (Rows an older version of that rule made are
 * the reconciliation's.) `version` is the customer's ETag, new with each change of the customer and kept by a change
 * of its summary. A row of the former layout has neither: it reads with an empty summary and a digest of its fields
 * as its version until the reconciliation writes them.
 */
type CustomerEntity = CustomerFields &
  SummaryFields & { partitionKey: string; rowKey: string; version?: string };

/** A copy of the customer and its summary, under one index key. */
type IndexEntity = CustomerFields & SummaryFields & { partitionKey: string; rowKey: string; key: string };

type AnyEntity = CustomerEntity | AllocationEntity;

/** What a committed change leaves to write in the index tables. */
interface IndexSync {
  readonly key: string;
  readonly rows: readonly IndexEntity[];
  /** Index rows the customer had before the change and no longer has. */
  readonly stale: readonly string[];
}

const isLegacyKey = (rowKey: string) =>
  rowKey.endsWith(LEGACY_SUMMARY_SUFFIX) || rowKey.startsWith(LEGACY_INDEX_PREFIX);
/**
 * An index row's partition: one per value of a dimension, so that a filter or a word is a partition of its own (a
 * partition of the emulator is scanned for every point write, a partition of Azure serves its own load).
 */
const indexPartition = (dimension: Dimension, value: string) => `${dimension}!${value}`;
/** An index row's identity, `{partition}!{key}` (keys hold no "!"), as sets of rows to keep or delete hold it. */
const idOf = (row: TableRow) => `${row.partitionKey}!${row.rowKey}`;
function keysOf(id: string): TableRow {
  const at = id.lastIndexOf('!');
  return { partitionKey: id.slice(0, at), rowKey: id.slice(at + 1) };
}
/** The table of an index row, by the dimension its partition starts with; null for one of no index table. */
function indexTableOf(id: string): string | null {
  const dimension = DIMENSIONS.find((d) => id.startsWith(`${d}!`));
  return dimension ? INDEX_TABLE[dimension] : null;
}

export function createCustomerStore(tables: Tables): CustomerStore {
  const allocations = tables.table<AllocationEntity>(CUSTOMERS_TABLE);
  const customers = tables.table<CustomerEntity>(CUSTOMERS_TABLE);
  const all = tables.table<AnyEntity>(CUSTOMERS_TABLE);
  const indexTables = new Map(INDEX_TABLES.map((name) => [name, tables.table<IndexEntity>(name)]));
  const indexTable = (dimension: Dimension) =>
    indexTables.get(INDEX_TABLE[dimension]) as VersionedTable<IndexEntity>;

  function allocationAction(value: LicenseAllocation, etag: string | null): TransactionAction<AnyEntity> {
    const row: AllocationEntity = { partitionKey: PARTITION, rowKey: ALLOCATION_ROW, ...value };
    return etag === null ? { kind: 'insert', row } : { kind: 'replace', row, etag };
  }

  async function read(shortName: string): Promise<CustomerRecord | null> {
    const found = await customers.get(PARTITION, shortNameKey(shortName));
    if (!found) return null;
    const summary = toSummary(found.value);
    return { customer: toCustomer(found.value, summary), summary, rowEtag: found.etag };
  }

  /** The customer's row; the index rows to write once it is committed. */
  function changed(record: CustomerRecord, { at, ...fields }: CustomerChanges) {
    const next: Customer = { ...record.customer, ...fields, updatedAt: at };
    const before = indexRows(toEntity(record.customer, record.summary)).map(idOf);
    // Guarded by the row's ETag: a summary that changed meanwhile is a conflict like any other, the caller's retry
    // reads it again, and the customer's own ETag tells whether the caller's copy is stale (customer-service.ts).
    const entity = toEntity(next, record.summary);
    const { action, sync } = derivedOf(entity, record.rowEtag, before);
    return { next: { ...next, etag: versionOf(entity) }, actions: [action], sync };
  }

  async function commit({ inserts = [], updates = [], allocation }: CustomerCommit) {
    // One action per customer, in the order given, then the allocation's.
    const entities = inserts.map(newEntity);
    const actions: TransactionAction<AnyEntity>[] = [];
    const syncs: IndexSync[] = [];
    for (const entity of entities) {
      actions.push({ kind: 'insert', row: entity });
      syncs.push({ key: entity.rowKey, rows: indexRows(entity), stale: [] });
    }
    const nexts = updates.map(({ record, changes }) => {
      const { next, actions: own, sync } = changed(record, changes);
      actions.push(...own);
      syncs.push(sync);
      return next;
    });
    if (allocation) actions.push(allocationAction(allocation.value, allocation.etag));
    const etags = await all.transaction(actions);
    return {
      inserted: entities.map((value) => toCustomer(value, EMPTY_SUMMARY)),
      updated: nexts,
      indexed: Promise.all(syncs.map((sync, i) => syncIndex(sync, etags[i] ?? ''))).then(() => undefined),
    };
  }

  /**
   * The write of `customer`'s row (guarded by `etag`, so that two writers never interleave), and the index rows it
   * makes with those of `present` it no longer does.
   */
  function derivedOf(
    customer: CustomerEntity,
    etag: string,
    present: readonly string[],
  ): { action: TransactionAction<AnyEntity>; sync: IndexSync } {
    const rows = indexRows(customer);
    const keep = new Set(rows.map(idOf));
    return {
      action: { kind: 'replace', row: customer, etag },
      sync: { key: customer.rowKey, rows, stale: present.filter((k) => !keep.has(k)) },
    };
  }

  /** Upserts `rows` and deletes the rows `deletes` names (ids), all at once: each is a partition of its own. */
  async function writeIndex(rows: readonly IndexEntity[], deletes: Iterable<string>): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const row of rows) {
      const table = indexTables.get(indexTableOf(row.partitionKey) ?? '');
      if (table) writes.push(table.upsert(row));
    }
    // A delete of an absent row is no error here (it is in a transaction), and most of these are gone already.
    for (const id of deletes) {
      const table = indexTables.get(indexTableOf(id) ?? '');
      const { partitionKey, rowKey } = keysOf(id);
      if (table) writes.push(table.delete(partitionKey, rowKey));
    }
    await Promise.all(writes);
  }

  /**
   * Makes the index rows show the customer as committed with the row ETag `etag`. The customer is read again
   * after each write: when someone changed it meanwhile, their index write may have landed before this one, so the
   * rows are written again from what it is now (and every row this writer wrote that it no longer has is deleted),
   * until a read finds the version written. The last writer to land always checks after it, so the rows end as the
   * customer is; only a crash leaves them behind, until the reconciliation. Best effort: the customer is committed, the index is a copy the reconciliation rebuilds, and a failure here is no failure of the change.
   */
  async function syncIndex(sync: IndexSync, etag: string): Promise<void> {
    const touched = new Set(sync.stale);
    let wanted = sync.rows;
    let version = etag;
    try {
      for (let round = 0; round < INDEX_SYNC_ROUNDS; round++) {
        const keep = new Set(wanted.map(idOf));
        await writeIndex(
          wanted,
          [...touched].filter((k) => !keep.has(k)),
        );
        for (const id of keep) touched.add(id);
        const customer = await customers.get(PARTITION, sync.key);
        if (!customer) {
          // Removed meanwhile: its removal deleted the rows it knew of, these are the rest.
          await writeIndex([], touched);
          return;
        }
        if (customer.etag === version) return;
        version = customer.etag;
        wanted = indexRows(customer.value);
      }
    } catch {
      // The reconciliation rebuilds what this left undone.
    }
  }

  /** Rows a page at a time, `pageSize` each: the storage returns (and the SDK parses) no more than a list shows. */
  async function* rowsOf<T extends TableRow>(
    table: VersionedTable<T>,
    options: ListOptions,
    pageSize: number,
  ): AsyncIterable<Stored<T>> {
    const pages = table.list(options).byPage({
      maxPageSize: Math.min(MAX_PAGE_SIZE, pageSize),
    });
    for await (const page of pages) yield* page.rows;
  }

  async function* items(
    rowKey: { gt: string; lt: string },
    pageSize = MAX_PAGE_SIZE,
  ): AsyncIterable<CustomerListItem> {
    for await (const { value } of rowsOf(customers, { partitionKey: PARTITION, rowKey }, pageSize)) {
      if (!isLegacyKey(value.rowKey)) yield toItem(value);
    }
  }

  async function* indexed(
    [dimension, partition]: readonly [Dimension, string],
    afterKey: string,
    pageSize: number,
  ): AsyncIterable<CustomerListItem> {
    for await (const { value } of rowsOf(
      indexTable(dimension),
      { partitionKey: partition, rowKey: { gt: afterKey } },
      pageSize,
    )) {
      yield fromIndex(value);
    }
  }

  /** The index that narrows the list most: a channel has few customers, a State or License Type many. */
  function driver(filter: CustomerFilter): readonly [Dimension, string] | null {
    if (filter.channelId !== undefined)
      return ['channel', indexPartition('channel', filter.channelId.toLowerCase())];
    if (filter.state !== undefined) return ['state', indexPartition('state', filter.state)];
    if (filter.licenseType !== undefined) return ['type', indexPartition('type', filter.licenseType)];
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
        // Word rows are ordered by word (their partition), then customer: the partitions of every word the longest
        // search word starts are read in one range query, then the customers put in order.
        const longest = words.reduce((a, b) => (b.length > a.length ? b : a));
        const byKey = new Map<string, CustomerListItem>();
        for await (const { value } of indexTable('word').list({
          partitionKey: { prefix: indexPartition('word', longest) },
          rowKey: { gt: afterKey },
        })) {
          if (value.key > afterKey && !byKey.has(value.key)) byKey.set(value.key, fromIndex(value));
        }
        const sorted = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        return firstMatches(toAsync(sorted), filter, top);
      }
      const prefix = filter.keys === undefined ? driver(filter) : null;
      // One more than the page, to tell whether more follow.
      const source = prefix ? indexed(prefix, afterKey, top + 1) : items({ gt: afterKey, lt: '~' }, top + 1);
      return firstMatches(source, filter, top);
    },

    list: () => items({ gt: '', lt: '~' }),

    // The customer's row.
    insertActions: () => 1,

    updateActions: (record, changes) => changed(record, changes).actions.length,

    commit,

    async update(current, changes) {
      const record = await read(current.shortName);
      // Guarded by the caller's version of the customer, with the summary as it is now.
      if (record?.customer.etag !== current.etag) throw new VersionConflictError();
      const { updated, indexed } = await commit({ updates: [{ record, changes }] });
      await indexed;
      return updated[0] ?? current;
    },

    async updateSummary(shortName, change) {
      const committed = await withOptimisticRetry(async () => {
        const customer = await customers.get(PARTITION, shortNameKey(shortName));
        if (!customer) return null;
        const current = toSummary(customer.value);
        const next = applyChange(current, change);
        if (hasSummary(customer.value) && sameSummary(current, next)) return null;
        const { action, sync } = derivedOf(
          withSummary(customer.value, next),
          customer.etag,
          indexRows(customer.value).map(idOf),
        );
        const [etag = ''] = await all.transaction([action]);
        return { sync, etag };
      });
      if (committed) await syncIndex(committed.sync, committed.etag);
    },

    async reconcile(truth) {
      const found = new Map<string, Stored<CustomerEntity>>();
      const legacy: string[] = [];
      for await (const row of customers.list({ partitionKey: PARTITION })) {
        const rk = row.value.rowKey;
        if (rk === ALLOCATION_ROW) continue;
        if (isLegacyKey(rk)) legacy.push(rk);
        else found.set(rk, row);
      }
      const indexByCustomer = new Map<string, IndexEntity[]>();
      for (const table of indexTables.values()) {
        for await (const { value } of table.list()) {
          indexByCustomer.set(value.key, [...(indexByCustomer.get(value.key) ?? []), value]);
        }
      }
      let repaired = 0;
      for (const [key, customer] of found) {
        const expected = await truth(toItem(customer.value));
        const present = indexByCustomer.get(key) ?? [];
        if (isConsistent(customer.value, expected, present)) continue;
        repaired++;
        const { action, sync } = derivedOf(
          withSummary(customer.value, expected),
          customer.etag,
          present.map(idOf),
        );
        let etag: string;
        try {
          [etag = ''] = await all.transaction([action]);
        } catch (error) {
          // Someone wrote this customer meanwhile: the next run looks at it again.
          if (!(error instanceof VersionConflictError)) throw error;
          continue;
        }
        await syncIndex(sync, etag);
      }
      // Rows of the former layouts, and what a removed customer left behind (an index write that raced its removal).
      for (const rowKey of legacy) await all.delete(PARTITION, rowKey);
      for (const [key, rows] of indexByCustomer) {
        if (!found.has(key)) await writeIndex([], rows.map(idOf));
      }
      return repaired;
    },

    async remove(current, allocation, allocationEtag) {
      const key = shortNameKey(current.shortName);
      const found = await customers.get(PARTITION, key);
      await all.transaction([
        // A transaction's delete is unconditional; a customer Ready for remove no longer changes (the service refuses).
        { kind: 'delete', partitionKey: PARTITION, rowKey: key },
        allocationAction(allocation, allocationEtag),
      ]);
      // Found no more by a filter or a search; what a racing index write adds after this, it deletes itself.
      if (found) await writeIndex([], indexRows(found.value).map(idOf)).catch(() => undefined);
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
  present: readonly IndexEntity[],
): boolean {
  if (!hasSummary(customer) || !sameSummary(toSummary(customer), expected)) return false;
  const wanted = indexRows(customer);
  if (present.length !== wanted.length) return false;
  const byKey = new Map(present.map((r) => [idOf(r), r]));
  return wanted.every((w) => {
    const p = byKey.get(idOf(w));
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

/** The customer's row with `summary` in place of the one it has. */
function withSummary(customer: CustomerEntity, summary: CustomerSummary): CustomerEntity {
  const {
    queuedCommands: _queued,
    executingCommands: _executing,
    replicationInProgress: _replicating,
    lastReplicationAt: _last,
    channelId: _channel,
    ...own
  } = customer;
  return { ...own, ...summaryFields(summary) };
}

function newEntity(customer: NewCustomer): CustomerEntity {
  // A new customer starts with an empty summary, whatever a namesake removed before left behind.
  return toEntity(
    { ...customer, uid: randomUUID(), createdAt: customer.at, updatedAt: customer.at },
    EMPTY_SUMMARY,
  );
}

/**
 * The customer's uid. A row written before customers had one reads with one derived from its Short Name and its
 * creation time, which no later customer of the name shares, the same on every read until its next write stores it:
 * no migration pass is needed, and no two reads disagree.
 */
function uidOf(customer: Pick<CustomerFields, 'uid' | 'shortName' | 'createdAt'>): string {
  if (customer.uid) return customer.uid;
  const hex = createHash('sha256')
    .update(`${shortNameKey(customer.shortName)}\n${customer.createdAt}`)
    .digest('hex');
  // In a UUID's form (version 8, "custom"), like the random ones.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Whether a row carries its summary (a row of the former layout does not, until the reconciliation). */
function hasSummary(entity: Partial<SummaryFields>): boolean {
  return typeof entity.queuedCommands === 'number';
}

function toSummary(entity: Partial<SummaryFields>): CustomerSummary {
  return {
    activity: {
      queuedCommands: entity.queuedCommands ?? 0,
      executingCommands: entity.executingCommands ?? 0,
      replicationInProgress: entity.replicationInProgress ?? false,
    },
    lastReplicationAt: entity.lastReplicationAt ?? null,
    channelId: entity.channelId ?? null,
  };
}

/** The index rows a customer is found by, each a copy of what the list shows. */
function indexRows(customer: CustomerEntity): IndexEntity[] {
  const key = customer.rowKey;
  const summary = toSummary(customer);
  const copy = {
    key,
    uid: uidOf(customer),
    shortName: customer.shortName,
    fullName: customer.fullName,
    licenseType: customer.licenseType,
    licensedUsers: customer.licensedUsers,
    state: customer.state,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
    ...summaryFields(summary),
  };
  const partitions = [
    indexPartition('state', customer.state),
    indexPartition('type', customer.licenseType),
    ...(summary.channelId ? [indexPartition('channel', summary.channelId)] : []),
    ...customerWords(customer).map((word) => indexPartition('word', word)),
  ];
  return partitions.map((partitionKey) => ({ partitionKey, rowKey: key, ...copy }));
}

function projectionOf(row: IndexEntity): Omit<IndexEntity, 'partitionKey' | 'rowKey'> & TableRow {
  // Property order as indexRows writes it, so that a stored copy and a fresh one compare as JSON.
  return {
    partitionKey: row.partitionKey,
    rowKey: row.rowKey,
    key: row.key,
    uid: uidOf(row),
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

function ownFields(customer: CustomerFields): CustomerFields {
  return {
    uid: uidOf(customer),
    shortName: customer.shortName,
    fullName: customer.fullName,
    licenseType: customer.licenseType,
    licensedUsers: customer.licensedUsers,
    state: customer.state,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
  };
}

/** The row of a new version of `customer`. */
function toEntity(customer: CustomerFields, summary: CustomerSummary): CustomerEntity {
  return {
    partitionKey: PARTITION,
    rowKey: shortNameKey(customer.shortName),
    ...ownFields(customer),
    version: newVersion(),
    ...summaryFields(summary),
  };
}

/** A new version of the customer, in the storage ETag's form that the API's If-Match handling expects (route-kit.ts). */
function newVersion(): string {
  return `W/"${randomBytes(16).toString('base64url')}"`;
}

/** The customer's ETag: the version its row holds (a row of the former layout holds none: a digest of its fields). */
function versionOf(entity: CustomerEntity): string {
  if (entity.version) return entity.version;
  const { uid: _uid, ...fields } = ownFields(entity);
  const digest = createHash('sha256').update(JSON.stringify(fields)).digest('base64url');
  return `W/"${digest.slice(0, 22)}"`;
}

function plainCustomer(entity: CustomerFields, summary: CustomerSummary) {
  const licenseType = LICENSE_TYPES.find((t) => t === entity.licenseType);
  const state = CUSTOMER_STATES.find((s) => s === entity.state);
  if (!licenseType || !state)
    throw new Error(`Stored customer ${entity.shortName} has an unknown license type or state.`);
  return {
    id: entity.shortName,
    uid: uidOf(entity),
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

function toCustomer(entity: CustomerEntity, summary: CustomerSummary): Customer {
  return { ...plainCustomer(entity, summary), etag: versionOf(entity) };
}

function toItem(entity: CustomerEntity): CustomerListItem {
  const summary = toSummary(entity);
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
