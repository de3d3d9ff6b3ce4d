import { VersionConflictError } from '../errors/domain-errors.js';
import {
  type Condition,
  type KeyRange,
  type ListOptions,
  MAX_TRANSACTION_ACTIONS,
  type Page,
  type PageSettings,
  prefixEnd,
  type RowIterator,
  type Scalar,
  type Stored,
  type TableRow,
  type Tables,
  type TransactionAction,
  type VersionedTable,
} from './versioned-table.js';

/** Azure's limit on a string property (64 KiB of UTF-16). */
const MAX_STRING_CHARS = 32 * 1024;
const MAX_PROPERTIES = 252;
const DEFAULT_PAGE_SIZE = 1000;
/** Table storage refuses `/ \\ # ?` and the control characters U+0000–U+001F and U+007F–U+009F in a key. */
const FORBIDDEN_KEY_CODES = new Set(['/', '\\', '#', '?'].map((c) => c.charCodeAt(0)));
function validKey(key: string): boolean {
  if (key.length > 1024) return false;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || FORBIDDEN_KEY_CODES.has(code)) return false;
  }
  return true;
}

interface ConditionalDelete {
  readonly kind: 'delete';
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly etag: string | undefined;
}

type Row = TableRow & Record<string, unknown>;
interface Entry {
  readonly row: Row;
  readonly etag: string;
}

/**
 * One partition: its rows by RowKey, and the RowKeys in order. The order is kept as rows come and go (an append or
 * a splice), or dropped when a large partition takes a key in its middle and rebuilt by the next read: seeding
 * 100,000 rows in random order then costs one sort instead of 100,000 moves of a long array.
 */
interface Partition {
  readonly rows: Map<string, Entry>;
  sorted: string[] | undefined;
}

/** A table: its partitions by PartitionKey, and the PartitionKeys in order (kept the same way). */
interface Store {
  readonly partitions: Map<string, Partition>;
  sortedKeys: string[] | undefined;
}

/** Up to this many keys an insert in the middle moves the rest; beyond it the order is rebuilt when next read. */
const SPLICE_LIMIT = 4096;

/**
 * The kit in memory, for fast tests and the benchmark's large mirror: the same contract as azureTables() (ETags
 * change on every write, the same conflicts, rows listed by PartitionKey then RowKey, Azure's key and property
 * limits). Like Azure's clustered (PartitionKey, RowKey) index, a point read is a lookup and a key range is found by
 * binary search and costs the rows it reads, not the table. Rows are copied in and out.
 */
export function memoryTables(): Tables {
  const tables = new Map<string, Store>();
  let version = 0;
  const nextEtag = () => `W/"memory-${++version}"`;
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      let store = tables.get(name);
      if (!store) {
        store = { partitions: new Map(), sortedKeys: [] };
        tables.set(name, store);
      }
      return memoryTable<T>(name, store, nextEtag);
    },
  };
}

function memoryTable<T extends TableRow>(
  name: string,
  store: Store,
  nextEtag: () => string,
): VersionedTable<T> {
  const conflict = (partitionKey: string, rowKey: string, why: string) =>
    new VersionConflictError(`Row ${partitionKey}/${rowKey} of ${name} ${why}.`);

  /** Checks one write against the rows as they are; returns what applying it does. */
  function plan(action: TransactionAction<T> | ConditionalDelete): () => string {
    if (action.kind === 'delete') {
      const { partitionKey, rowKey } = action;
      const current = entryOf(store, partitionKey, rowKey);
      if (!current) throw conflict(partitionKey, rowKey, 'is gone');
      const etag = 'etag' in action ? action.etag : undefined;
      if (etag !== undefined && etag !== '*' && etag !== current.etag) {
        throw conflict(partitionKey, rowKey, 'was changed by someone else');
      }
      return () => {
        removeEntry(store, partitionKey, rowKey);
        return '';
      };
    }
    const row = copyIn(action.row);
    const current = entryOf(store, row.partitionKey, row.rowKey);
    if (action.kind === 'insert' && current) throw conflict(row.partitionKey, row.rowKey, 'exists');
    if (action.kind === 'replace') {
      if (!current) throw conflict(row.partitionKey, row.rowKey, 'is gone');
      if (action.etag !== '*' && action.etag !== current.etag) {
        throw conflict(row.partitionKey, row.rowKey, 'was changed by someone else');
      }
    }
    return () => {
      const etag = nextEtag();
      putEntry(store, { row, etag });
      return etag;
    };
  }

  return {
    async get(partitionKey, rowKey) {
      const entry = entryOf(store, partitionKey, rowKey);
      return entry ? copyOut<T>(entry) : null;
    },
    async insert(row) {
      return plan({ kind: 'insert', row })();
    },
    async replace(row, etag) {
      return plan({ kind: 'replace', row, etag })();
    },
    async upsert(row) {
      return plan({ kind: 'upsert', row })();
    },
    async delete(partitionKey, rowKey, etag) {
      if (!entryOf(store, partitionKey, rowKey)) return false;
      plan({ kind: 'delete', partitionKey, rowKey, etag })();
      return true;
    },
    list(options = {}) {
      return listRows<T>(store, options);
    },
    async transaction(actions) {
      if (actions.length > MAX_TRANSACTION_ACTIONS) {
        throw new RangeError(`A transaction holds at most ${MAX_TRANSACTION_ACTIONS} actions.`);
      }
      const keys = actions.map((a) =>
        'row' in a ? [a.row.partitionKey, a.row.rowKey] : [a.partitionKey, a.rowKey],
      );
      if (new Set(keys.map(([pk]) => pk)).size > 1) {
        throw new RangeError('All rows of a transaction share one partition.');
      }
      if (new Set(keys.map(([pk = '', rk = '']) => JSON.stringify([pk, rk]))).size < keys.length) {
        throw new RangeError('A transaction changes each row at most once.');
      }
      // Every condition is checked before anything is written: all or nothing.
      const writes = actions.map(plan);
      return writes.map((write) => write());
    },
  };
}

function entryOf(store: Store, partitionKey: string, rowKey: string): Entry | undefined {
  return store.partitions.get(partitionKey)?.rows.get(rowKey);
}

function putEntry(store: Store, entry: Entry): void {
  const { partitionKey, rowKey } = entry.row;
  let partition = store.partitions.get(partitionKey);
  if (!partition) {
    partition = { rows: new Map(), sorted: [] };
    store.partitions.set(partitionKey, partition);
    store.sortedKeys = withKey(store.sortedKeys, partitionKey);
  }
  if (!partition.rows.has(rowKey)) partition.sorted = withKey(partition.sorted, rowKey);
  partition.rows.set(rowKey, entry);
}

function removeEntry(store: Store, partitionKey: string, rowKey: string): void {
  const partition = store.partitions.get(partitionKey);
  if (!partition?.rows.delete(rowKey)) return;
  partition.sorted = withoutKey(partition.sorted, rowKey);
  if (partition.rows.size === 0) {
    store.partitions.delete(partitionKey);
    store.sortedKeys = withoutKey(store.sortedKeys, partitionKey);
  }
}

/** The ordered keys with a new one; undefined (rebuilt when read) where keeping the order would move many keys. */
function withKey(sorted: string[] | undefined, key: string): string[] | undefined {
  if (!sorted) return undefined;
  const last = sorted[sorted.length - 1];
  if (last === undefined || key > last) sorted.push(key);
  else if (sorted.length < SPLICE_LIMIT) sorted.splice(lowerBound(sorted, key), 0, key);
  else return undefined;
  return sorted;
}

function withoutKey(sorted: string[] | undefined, key: string): string[] | undefined {
  if (!sorted) return undefined;
  const at = lowerBound(sorted, key);
  if (sorted[at] === key) sorted.splice(at, 1);
  return sorted;
}

// A plain sort() orders strings by UTF-16 code unit: the ordinal order of Table keys.
function partitionKeysOf(store: Store): string[] {
  return (store.sortedKeys ??= [...store.partitions.keys()].sort());
}

function rowKeysOf(partition: Partition): string[] {
  return (partition.sorted ??= [...partition.rows.keys()].sort());
}

/** The first index whose key is ≥ `key` (or > `key` when `strict`). */
function lowerBound(sorted: readonly string[], key: string, strict = false): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const probe = sorted[middle] as string;
    if (probe < key || (strict && probe === key)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The index range [start, end) of the sorted keys inside `range` (and after `after` when given). */
function boundsOf(
  sorted: readonly string[],
  range: KeyRange | undefined,
  after?: string,
): readonly [number, number] {
  let start = 0;
  let end = sorted.length;
  const from = (key: string, strict: boolean) => {
    start = Math.max(start, lowerBound(sorted, key, strict));
  };
  const to = (key: string, inclusive: boolean) => {
    end = Math.min(end, lowerBound(sorted, key, inclusive));
  };
  if (after !== undefined) from(after, true);
  if (range?.gt !== undefined) from(range.gt, true);
  if (range?.ge !== undefined) from(range.ge, false);
  if (range?.lt !== undefined) to(range.lt, false);
  if (range?.le !== undefined) to(range.le, true);
  if (range?.prefix) {
    from(range.prefix, false);
    to(prefixEnd(range.prefix), false);
  }
  return [start, end];
}

/** The entries of a listing in key order from `after` on, its key ranges found by binary search. */
function* scan(store: Store, options: ListOptions, after: TableRow | undefined): Generator<Entry> {
  const { partitionKey, rowKey, where = [] } = options;
  const partitionKeys =
    typeof partitionKey === 'string'
      ? store.partitions.has(partitionKey)
        ? [partitionKey]
        : []
      : partitionKeysOf(store);
  const [first, last] =
    typeof partitionKey === 'string' ? [0, partitionKeys.length] : boundsOf(partitionKeys, partitionKey);
  const resume = after ? lowerBound(partitionKeys, after.partitionKey) : 0;
  for (let p = Math.max(first, resume); p < last; p++) {
    const key = partitionKeys[p] as string;
    const partition = store.partitions.get(key);
    if (!partition) continue;
    const rowKeys = rowKeysOf(partition);
    const [start, end] = boundsOf(rowKeys, rowKey, after?.partitionKey === key ? after.rowKey : undefined);
    for (let r = start; r < end; r++) {
      const entry = partition.rows.get(rowKeys[r] as string);
      if (entry && where.every((condition) => holds(entry.row, condition))) yield entry;
    }
  }
}

function listRows<T>(store: Store, options: ListOptions): RowIterator<T> {
  // Read page by page, as the service reads a page when asked for it; each page starts from the keys as they are.
  async function* pages(settings: PageSettings = {}): AsyncIterableIterator<Page<T>> {
    const size = Math.max(1, settings.maxPageSize ?? DEFAULT_PAGE_SIZE);
    let after = later(
      options.after,
      settings.continuationToken ? decodeToken(settings.continuationToken) : undefined,
    );
    let more = true;
    while (more) {
      const page: Stored<T>[] = [];
      more = false;
      for (const entry of scan(store, options, after)) {
        if (page.length === size) {
          more = true;
          break;
        }
        page.push(copyOut<T>(entry, options.select));
      }
      const last = page[page.length - 1]?.value as TableRow | undefined;
      more &&= last !== undefined;
      yield { rows: page, continuationToken: more && last ? encodeToken(last) : undefined };
      after = last;
    }
  }
  async function* all(): AsyncIterableIterator<Stored<T>> {
    for await (const page of pages()) yield* page.rows;
  }
  return Object.assign(all(), { byPage: pages });
}

function later(a: TableRow | undefined, b: TableRow | undefined): TableRow | undefined {
  if (!a || !b) return a ?? b;
  return compareKeys(a, b) >= 0 ? a : b;
}

function holds(row: Row, [property, comparison, value]: Condition): boolean {
  const actual = row[property];
  // Table storage compares only values of one type; a missing or other-typed property never matches.
  if (typeof actual !== typeof value) return false;
  const order = compareScalars(actual as Scalar, value);
  switch (comparison) {
    case 'eq':
      return order === 0;
    case 'ne':
      return order !== 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
  }
}

function compareScalars(a: Scalar, b: Scalar): number {
  if (typeof a === 'string' && typeof b === 'string') return compare(a, b);
  return Number(a) - Number(b);
}

/** Ordinal, by UTF-16 code unit, as Table storage orders keys. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeys(a: TableRow, b: TableRow): number {
  return compare(a.partitionKey, b.partitionKey) || compare(a.rowKey, b.rowKey);
}

function encodeToken(row: TableRow): string {
  return Buffer.from(JSON.stringify([row.partitionKey, row.rowKey]), 'utf8').toString('base64url');
}

function decodeToken(token: string): TableRow {
  const [partitionKey, rowKey] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [
    string,
    string,
  ];
  return { partitionKey, rowKey };
}

/**
 * Only what Table storage keeps: scalars, null and undefined left out; the keys and sizes it accepts. A loop over
 * the keys, not `Object.entries`: the bench's twin stores a million rows a cycle with this.
 */
function copyIn<T extends TableRow>(row: T): Row {
  for (const key of [row.partitionKey, row.rowKey]) {
    if (!validKey(key)) {
      throw new RangeError(`Not a valid key: ${JSON.stringify(key)}`);
    }
  }
  const stored: Record<string, unknown> = {};
  let properties = 0;
  for (const property in row) {
    const value: unknown = row[property];
    if (value === null || value === undefined) continue;
    if (++properties > MAX_PROPERTIES)
      throw new RangeError(`A row holds at most ${MAX_PROPERTIES} properties.`);
    if (
      typeof value === 'string'
        ? value.length > MAX_STRING_CHARS
        : typeof value !== 'number' && typeof value !== 'boolean'
    ) {
      throw new RangeError(
        `Property ${property} cannot be stored (a scalar, strings up to ${MAX_STRING_CHARS}).`,
      );
    }
    stored[property] = value;
  }
  return stored as Row;
}

function copyOut<T>({ row, etag }: Entry, select?: readonly string[]): Stored<T> {
  const value = select
    ? Object.fromEntries(
        Object.entries(row).filter(
          ([key]) => key === 'partitionKey' || key === 'rowKey' || select.includes(key),
        ),
      )
    : { ...row };
  return { value: value as T, etag };
}
