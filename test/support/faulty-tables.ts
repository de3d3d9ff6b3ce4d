import { TransientError } from '../../shared/errors/domain-errors.js';
import type { RowIterator, TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';

export interface StorageCall {
  readonly table: string;
  readonly operation: 'get' | 'insert' | 'replace' | 'upsert' | 'delete' | 'list' | 'transaction';
  /** The partition a point call or a transaction touches (a transaction's rows share one); none for a listing. */
  readonly partitionKey?: string;
}

/**
 * Tables whose calls fail with a TransientError, as azureTables() reports an outage, whenever `fails(call)` says so;
 * the others reach `inner`.
 */
export function faultyTables(inner: Tables, fails: (call: StorageCall) => boolean): Tables {
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const table = inner.table<T>(name);
      const guard = (operation: StorageCall['operation'], partitionKey?: string) => {
        if (fails({ table: name, operation, ...(partitionKey === undefined ? {} : { partitionKey }) })) {
          throw new TransientError(`Table storage is unavailable (injected, ${operation} on ${name}).`);
        }
      };
      return {
        get: async (...args) => (guard('get', args[0]), table.get(...args)),
        insert: async (...args) => (guard('insert', args[0].partitionKey), table.insert(...args)),
        replace: async (...args) => (guard('replace', args[0].partitionKey), table.replace(...args)),
        upsert: async (...args) => (guard('upsert', args[0].partitionKey), table.upsert(...args)),
        delete: async (...args) => (guard('delete', args[0]), table.delete(...args)),
        transaction: async (...args) => {
          const first = args[0][0];
          guard('transaction', first && ('row' in first ? first.row.partitionKey : first.partitionKey));
          return table.transaction(...args);
        },
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
