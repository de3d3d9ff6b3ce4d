import type { TableClient, TableServiceClientOptions } from '@azure/data-tables';
import type { StorageEndpoints } from './storage-endpoints.js';

/** A TableClient whose table is created on first use. */
export function lazyTable(
  endpoints: StorageEndpoints,
  tableName: string,
  options: TableServiceClientOptions = {},
): () => Promise<TableClient> {
  const client = endpoints.tableClient(tableName, options);
  let ready: Promise<TableClient> | undefined;
  return () => {
    ready ??= client.createTable().then(
      () => client,
      (error: unknown) => {
        ready = undefined;
        throw error;
      },
    );
    return ready;
  };
}
