import type { TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';

/**
 * Tables that pass every call to `inner` but those `intercept` replaces; each replacement gets the inner table (and
 * its name) to call through to. The tests' recording, stalling and counting storage are each one such replacement.
 */
export function interceptedTables(
  inner: Tables,
  intercept: <T extends TableRow>(table: VersionedTable<T>, name: string) => Partial<VersionedTable<T>>,
): Tables {
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const table = inner.table<T>(name);
      return {
        get: (...args) => table.get(...args),
        insert: (...args) => table.insert(...args),
        replace: (...args) => table.replace(...args),
        upsert: (...args) => table.upsert(...args),
        delete: (...args) => table.delete(...args),
        list: (...args) => table.list(...args),
        transaction: (...args) => table.transaction(...args),
        ...intercept(table, name),
      };
    },
  };
}
