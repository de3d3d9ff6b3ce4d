import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';

/** A TableClient whose table is created on first use; Azurite's plain-http endpoint is allowed only for it. */
export function lazyTable(
  connectionString: string,
  tableName: string,
  options: TableServiceClientOptions = {},
): () => Promise<TableClient> {
  const client = TableClient.fromConnectionString(connectionString, tableName, {
    ...options,
    allowInsecureConnection:
      connectionString.includes('http://127.0.0.1') ||
      connectionString.includes('UseDevelopmentStorage=true'),
  });
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
