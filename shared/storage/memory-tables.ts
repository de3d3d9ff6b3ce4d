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
const FORBIDDEN_KEY_CHARACTERS = new Set(['/', '\\', '#', '?']);
const isControl = (code: number) => code < 0x20 || (code >= 0x7f && code <= 0x9f);

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
 * The kit in memory, for fast tests: the same contract as azureTables() (ETags change on every write, the same
 * conflicts, rows listed by PartitionKey then RowKey, Azure's key and property limits). Rows are copied in and out.
 */
export function memoryTables(): Tables {
  const tables = new Map<string, Map<string, Entry>>();
  let version = 0;
  const nextEtag = () => `W/"memory-${++version}"`;
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      let rows = tables.get(name);
      if (!rows) {
        rows = new Map();
        tables.set(name, rows);
      }
      return memoryTable<T>(name, rows, nextEtag);
    },
  };
}

function memoryTable<T extends TableRow>(
  name: string,
  rows: Map<string, Entry>,
  nextEtag: () => string,
): VersionedTable<T> {
  const conflict = (partitionKey: string, rowKey: string, why: string) =>
    new VersionConflictError(`Row ${partitionKey}/${rowKey} of ${name} ${why}.`);

  /** Checks one write against the rows as they are; returns what applying it does. */
  function plan(action: TransactionAction<T> | ConditionalDelete): () => string {
    if (action.kind === 'delete') {
      const key = keyOf(action.partitionKey, action.rowKey);
      const current = rows.get(key);
      if (!current) throw conflict(action.partitionKey, action.rowKey, 'is gone');
      const etag = 'etag' in action ? action.etag : undefined;
      if (etag !== undefined && etag !== '*' && etag !== current.etag) {
        throw conflict(action.partitionKey, action.rowKey, 'was changed by someone else');
      }
      return () => {
        rows.delete(key);
        return '';
      };
    }
    const row = copyIn(action.row);
    const key = keyOf(row.partitionKey, row.rowKey);
    const current = rows.get(key);
    if (action.kind === 'insert' && current) throw conflict(row.partitionKey, row.rowKey, 'exists');
    if (action.kind === 'replace') {
      if (!current) throw conflict(row.partitionKey, row.rowKey, 'is gone');
      if (action.etag !== '*' && action.etag !== current.etag) {
        throw conflict(row.partitionKey, row.rowKey, 'was changed by someone else');
      }
    }
    return () => {
      const etag = nextEtag();
      rows.set(key, { row, etag });
      return etag;
    };
  }

  return {
    async get(partitionKey, rowKey) {
      const entry = rows.get(keyOf(partitionKey, rowKey));
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
      if (!rows.has(keyOf(partitionKey, rowKey))) return false;
      plan({ kind: 'delete', partitionKey, rowKey, etag })();
      return true;
    },
    list(options = {}) {
      return listRows<T>(rows, options);
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
      if (new Set(keys.map(([pk = '', rk = '']) => keyOf(pk, rk))).size < keys.length) {
        throw new RangeError('A transaction changes each row at most once.');
      }
      // Every condition is checked before anything is written: all or nothing.
      const writes = actions.map(plan);
      return writes.map((write) => write());
    },
  };
}

function listRows<T>(rows: Map<string, Entry>, options: ListOptions): RowIterator<T> {
  // Read at the first page, as the service reads a page when asked for it.
  const matching = () =>
    [...rows.values()]
      .filter(({ row }) => matches(row, options))
      .sort((a, b) => compare(a.row.partitionKey, b.row.partitionKey) || compare(a.row.rowKey, b.row.rowKey))
      .map((entry) => copyOut<T>(entry, options.select));

  async function* pages(settings: PageSettings = {}): AsyncIterableIterator<Page<T>> {
    const size = Math.max(1, settings.maxPageSize ?? DEFAULT_PAGE_SIZE);
    let after = settings.continuationToken ? decodeToken(settings.continuationToken) : undefined;
    let more = true;
    while (more) {
      const remaining = matching().filter(({ value }) => !after || compareKeys(value as TableRow, after) > 0);
      const page = remaining.slice(0, size);
      const last = page[page.length - 1]?.value as TableRow | undefined;
      more = remaining.length > size && last !== undefined;
      yield { rows: page, continuationToken: more && last ? encodeToken(last) : undefined };
      after = last;
    }
  }
  async function* all(): AsyncIterableIterator<Stored<T>> {
    for await (const page of pages()) yield* page.rows;
  }
  return Object.assign(all(), { byPage: pages });
}

function matches(row: Row, { partitionKey, rowKey, where = [], after }: ListOptions): boolean {
  if (after && compareKeys(row, after) <= 0) return false;
  if (
    typeof partitionKey === 'string'
      ? row.partitionKey !== partitionKey
      : !inRange(row.partitionKey, partitionKey)
  ) {
    return false;
  }
  return inRange(row.rowKey, rowKey) && where.every((condition) => holds(row, condition));
}

function inRange(key: string, range: KeyRange | undefined): boolean {
  if (!range) return true;
  if (range.gt !== undefined && !(compare(key, range.gt) > 0)) return false;
  if (range.ge !== undefined && !(compare(key, range.ge) >= 0)) return false;
  if (range.lt !== undefined && !(compare(key, range.lt) < 0)) return false;
  if (range.le !== undefined && !(compare(key, range.le) <= 0)) return false;
  if (range.prefix && !(compare(key, range.prefix) >= 0 && compare(key, prefixEnd(range.prefix)) < 0))
    return false;
  return true;
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

function keyOf(partitionKey: string, rowKey: string): string {
  return JSON.stringify([partitionKey, rowKey]);
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

/** Only what Table storage keeps: scalars, null and undefined left out; the keys and sizes it accepts. */
function copyIn<T extends TableRow>(row: T): Row {
  for (const key of [row.partitionKey, row.rowKey]) {
    const forbidden = [...key].some((c) => FORBIDDEN_KEY_CHARACTERS.has(c) || isControl(c.charCodeAt(0)));
    if (forbidden || key.length > 1024) {
      throw new RangeError(`Not a valid key: ${JSON.stringify(key)}`);
    }
  }
  const entries = Object.entries(row).filter(([, value]) => value !== null && value !== undefined);
  if (entries.length > MAX_PROPERTIES)
    throw new RangeError(`A row holds at most ${MAX_PROPERTIES} properties.`);
  for (const [property, value] of entries) {
    if (
      typeof value === 'string'
        ? value.length > MAX_STRING_CHARS
        : !['number', 'boolean'].includes(typeof value)
    ) {
      throw new RangeError(
        `Property ${property} cannot be stored (a scalar, strings up to ${MAX_STRING_CHARS}).`,
      );
    }
  }
  return Object.fromEntries(entries) as Row;
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
