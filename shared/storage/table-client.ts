import type { TableClient, TableServiceClientOptions } from '@azure/data-tables';
import { lazy } from '../platform/lazy.js';
import type { StorageEndpoints } from './storage-endpoints.js';

/** A TableClient, made (its SDK loaded) and its table created on first use. */
export function lazyTable(
  endpoints: StorageEndpoints,
  tableName: string,
  options: TableServiceClientOptions = {},
): () => Promise<TableClient> {
  const client = lazy(() => endpoints.tableClient(tableName, options));
  return lazy(async () => {
    const made = await client();
    await made.createTable();
    return made;
  });
}
