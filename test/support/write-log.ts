import type { TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';

export interface StorageWrite {
  readonly table: string;
  readonly operation: 'insert' | 'replace' | 'upsert' | 'delete' | 'transaction';
  readonly partitionKey: string;
  readonly rowKey: string;
  /** For a replace or an upsert of a row that was there: the properties whose value it changed. */
  readonly changed?: readonly string[];
}

export interface WriteLog {
  readonly tables: Tables;
  /** The writes that changed storage since the last call, oldest first; the log starts empty again. */
  take(): StorageWrite[];
}

/**
 * Tables that log every write that changed a row (a delete of a missing row and a refused write change none): the
 * fuzz suite's before/after comparison of storage. Every write of the memory twin gives the row a new ETag, so an
 * empty log means every table holds what it held, down to the ETags, without listing them all around each request.
 */
export function writeLog(inner: Tables): WriteLog {
  let writes: StorageWrite[] = [];
  const log = (
    table: string,
    operation: StorageWrite['operation'],
    row: { partitionKey: string; rowKey: string },
    changed?: readonly string[],
  ) =>
    writes.push({
      table,
      operation,
      partitionKey: row.partitionKey,
      rowKey: row.rowKey,
      ...(changed ? { changed } : {}),
    });
  return {
    tables: {
      table<T extends TableRow>(name: string): VersionedTable<T> {
        const table = inner.table<T>(name);
        return {
          get: (...args) => table.get(...args),
          list: (...args) => table.list(...args),
          async insert(row) {
            const etag = await table.insert(row);
            log(name, 'insert', row);
            return etag;
          },
          async replace(row, etag) {
            const before = await table.get(row.partitionKey, row.rowKey);
            const next = await table.replace(row, etag);
            log(name, 'replace', row, before ? changedProperties(before.value, row) : undefined);
            return next;
          },
          async upsert(row) {
            const before = await table.get(row.partitionKey, row.rowKey);
            const etag = await table.upsert(row);
            log(name, 'upsert', row, before ? changedProperties(before.value, row) : undefined);
            return etag;
          },
          async delete(partitionKey, rowKey, etag) {
            const deleted = await table.delete(partitionKey, rowKey, etag);
            if (deleted) log(name, 'delete', { partitionKey, rowKey });
            return deleted;
          },
          async transaction(actions) {
            const etags = await table.transaction(actions);
            for (const action of actions) log(name, 'transaction', 'row' in action ? action.row : action);
            return etags;
          },
        };
      },
    },
    take() {
      const taken = writes;
      writes = [];
      return taken;
    },
  };
}

function changedProperties(before: object, after: object): string[] {
  const was = before as Record<string, unknown>;
  const is = after as Record<string, unknown>;
  // Absent and null are the same to Table storage: neither is stored.
  return [...new Set([...Object.keys(was), ...Object.keys(is)])].filter(
    (key) => (was[key] ?? null) !== (is[key] ?? null),
  );
}
