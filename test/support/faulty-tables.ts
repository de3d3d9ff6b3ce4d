import { TransientError } from '../../shared/errors/domain-errors.js';
import type { RowIterator, TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';

export interface StorageCall {
  readonly table: string;
  readonly operation: 'get' | 'insert' | 'replace' | 'upsert' | 'delete' | 'list' | 'transaction';
}

/**
 * Tables whose calls fail with a TransientError, as azureTables() reports an outage, whenever `fails(call)` says so;
 * the others reach `inner`.
 */
export function faultyTables(inner: Tables, fails: (call: StorageCall) => boolean): Tables {
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const table = inner.table<T>(name);
      const guard = (operation: StorageCall['operation']) => {
        if (fails({ table: name, operation })) {
          throw new TransientError(`Table storage is unavailable (injected, ${operation} on ${name}).`);
        }
      };
      return {
        get: async (...args) => (guard('get'), table.get(...args)),
        insert: async (...args) => (guard('insert'), table.insert(...args)),
        replace: async (...args) => (guard('replace'), table.replace(...args)),
        upsert: async (...args) => (guard('upsert'), table.upsert(...args)),
        delete: async (...args) => (guard('delete'), table.delete(...args)),
        transaction: async (...args) => (guard('transaction'), table.transaction(...args)),
        list(options) {
          const source = table.list(options);
          async function* pages(...settings: Parameters<RowIterator<T>['byPage']>) {
            guard('list');
            yield* source.byPage(...settings);
          }
          async function* rows() {
            for await (const page of pages()) yield* page.rows;
          }
          return Object.assign(rows(), { byPage: pages });
        },
      };
    },
  };
}
