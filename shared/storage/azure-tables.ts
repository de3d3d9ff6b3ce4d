import type {
  TableClient,
  TableEntityResult,
  TableEntityResultPage,
  TransactionAction as AzureAction,
} from '@azure/data-tables';
import { TransientError, VersionConflictError } from '../errors/domain-errors.js';
import { isRestError } from '../net/rest-error.js';
import { endpointsOf, type StorageSource } from './storage-endpoints.js';
import { lazyTable } from './table-client.js';
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

export interface AzureTablesOptions {
  /** Tries of the SDK's own retry policy on throttling and outages before the kit reports a TransientError. */
  readonly maxRetries?: number;
}

/** What a failed call meant: the row is absent, or the error to throw. */
export type StorageFailure = { readonly absent: true } | { readonly absent: false; readonly error: unknown };

const NETWORK_CODES = new Set([
  'REQUEST_SEND_ERROR',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * The one translation of a Table storage failure: 404 is an absent row, 409/412 a lost race, an outage (no answer,
 * 408, 429, 5xx) transient; anything else (400 is a bug of ours, 403 a wrong key) is thrown as it came.
 */
export function translateStorageError(error: unknown, what: string): StorageFailure {
  const status = isRestError(error) ? error.statusCode : undefined;
  if (status === 404) return { absent: true };
  if (status === 409 || status === 412) {
    return { absent: false, error: new VersionConflictError(`${what} was changed by someone else.`) };
  }
  const outage =
    status === undefined ? isNetworkFailure(error) : status === 408 || status === 429 || status >= 500;
  if (outage)
    return { absent: false, error: new TransientError(`Table storage is unavailable (${what}).`, error) };
  return { absent: false, error };
}

function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  const code = Reflect.get(error, 'code');
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  // A RestError without a status is a request that never got an answer.
  return isRestError(error) || (error.cause !== undefined && isNetworkFailure(error.cause));
}

/** A failure that cannot mean "absent" (a write, a list): its translation is always thrown. */
function thrown(error: unknown, what: string): unknown {
  const failure = translateStorageError(error, what);
  return failure.absent ? new VersionConflictError(`${what} is gone.`) : failure.error;
}

/** The kit on Azure Table storage (or Azurite); each table is created on first use. */
export function azureTables(source: StorageSource, options: AzureTablesOptions = {}): Tables {
  const endpoints = endpointsOf(source);
  const clients = new Map<string, () => Promise<TableClient>>();
  return {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      let client = clients.get(name);
      if (!client) {
        client = lazyTable(
          endpoints,
          name,
          options.maxRetries === undefined ? {} : { retryOptions: { maxRetries: options.maxRetries } },
        );
        clients.set(name, client);
      }
      return azureTable<T>(name, client);
    },
  };
}

function azureTable<T extends TableRow>(name: string, table: () => Promise<TableClient>): VersionedTable<T> {
  const ready = async (what: string) => {
    try {
      return await table();
    } catch (error) {
      throw thrown(error, what);
    }
  };
  const rowName = (partitionKey: string, rowKey: string) => `Row ${partitionKey}/${rowKey} of ${name}`;

  return {
    async get(partitionKey, rowKey) {
      const what = rowName(partitionKey, rowKey);
      const client = await ready(what);
      try {
        return stored<T>(await client.getEntity<T>(partitionKey, rowKey));
      } catch (error) {
        const failure = translateStorageError(error, what);
        if (failure.absent) return null;
        throw failure.error;
      }
    },

    async insert(row) {
      const what = rowName(row.partitionKey, row.rowKey);
      const client = await ready(what);
      try {
        return etagOf(await client.createEntity(entity(row)), what);
      } catch (error) {
        throw thrown(error, what);
      }
    },

    async replace(row, etag) {
      const what = rowName(row.partitionKey, row.rowKey);
      const client = await ready(what);
      try {
        return etagOf(await client.updateEntity(entity(row), 'Replace', { etag }), what);
      } catch (error) {
        throw thrown(error, what);
      }
    },

    async upsert(row) {
      const what = rowName(row.partitionKey, row.rowKey);
      const client = await ready(what);
      try {
        return etagOf(await client.upsertEntity(entity(row), 'Replace'), what);
      } catch (error) {
        throw thrown(error, what);
      }
    },

    async delete(partitionKey, rowKey, etag) {
      const what = rowName(partitionKey, rowKey);
      const client = await ready(what);
      try {
        await client.deleteEntity(partitionKey, rowKey, etag === undefined ? {} : { etag });
        return true;
      } catch (error) {
        const failure = translateStorageError(error, what);
        if (failure.absent) return false;
        throw failure.error;
      }
    },

    list(options = {}) {
      const what = `Rows of ${name}`;
      const filter = filterOf(options);
      const queryOptions = {
        ...(filter ? { filter } : {}),
        ...(options.select ? { select: ['PartitionKey', 'RowKey', ...options.select] } : {}),
      };
      async function* pages(settings: PageSettings = {}): AsyncIterableIterator<Page<T>> {
        const client = await ready(what);
        try {
          const source = client.listEntities<T>({ queryOptions }).byPage({
            ...(settings.maxPageSize ? { maxPageSize: settings.maxPageSize } : {}),
            ...(settings.continuationToken ? { continuationToken: settings.continuationToken } : {}),
          });
          for await (const page of source as AsyncIterable<TableEntityResultPage<T>>) {
            yield { rows: page.map((e) => stored<T>(e)), continuationToken: page.continuationToken };
          }
        } catch (error) {
          throw thrown(error, what);
        }
      }
      async function* rows(): AsyncIterableIterator<Stored<T>> {
        for await (const page of pages()) yield* page.rows;
      }
      const iterator = rows();
      return Object.assign(iterator, { byPage: pages }) satisfies RowIterator<T>;
    },

    async transaction(actions) {
      const first = actions[0];
      if (!first) return [];
      if (actions.length > MAX_TRANSACTION_ACTIONS) {
        throw new RangeError(`A transaction holds at most ${MAX_TRANSACTION_ACTIONS} actions.`);
      }
      const partitionKey = 'row' in first ? first.row.partitionKey : first.partitionKey;
      const what = `A transaction on ${partitionKey} of ${name}`;
      const client = await ready(what);
      try {
        const response = await client.submitTransaction(actions.map(azureAction));
        return await Promise.all(
          actions.map(async (action, i) => {
            if (action.kind === 'delete') return '';
            const etag = response.subResponses[i]?.etag;
            if (etag) return etag;
            // Some emulator versions leave a sub-response's ETag out: the row has it.
            return (await client.getEntity(action.row.partitionKey, action.row.rowKey)).etag;
          }),
        );
      } catch (error) {
        throw thrown(error, what);
      }
    },
  };
}

function azureAction<T extends TableRow>(action: TransactionAction<T>): AzureAction {
  switch (action.kind) {
    case 'insert':
      return ['create', entity(action.row)];
    case 'replace':
      return ['update', entity(action.row), 'Replace', { etag: action.etag }];
    case 'upsert':
      return ['upsert', entity(action.row), 'Replace'];
    case 'delete':
      return ['delete', { partitionKey: action.partitionKey, rowKey: action.rowKey }];
  }
}

/** Null and undefined properties are left out, as memoryTables() leaves them out. */
function entity<T extends TableRow>(row: T): TableRow & Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).filter(([, value]) => value !== null && value !== undefined),
  ) as TableRow & Record<string, unknown>;
}

function stored<T>(result: TableEntityResult<T>): Stored<T> {
  const { etag, timestamp: _timestamp, ...rest } = result as TableEntityResult<T> & { timestamp?: string };
  const value = Object.fromEntries(Object.entries(rest).filter(([key]) => !key.startsWith('odata.')));
  return { value: value as T, etag };
}

function etagOf(response: { etag?: string }, what: string): string {
  if (!response.etag) throw new TransientError(`Table storage returned no ETag for ${what}.`);
  return response.etag;
}

function filterOf(options: ListOptions): string {
  const parts: string[] = [];
  const { partitionKey, rowKey, where = [] } = options;
  if (typeof partitionKey === 'string') parts.push(`PartitionKey eq ${literal(partitionKey)}`);
  else if (partitionKey) parts.push(...rangeOf('PartitionKey', partitionKey));
  if (rowKey) parts.push(...rangeOf('RowKey', rowKey));
  for (const condition of where) parts.push(conditionOf(condition));
  if (options.after) {
    const { partitionKey: pk, rowKey: rk } = options.after;
    parts.push(
      `(PartitionKey gt ${literal(pk)} or (PartitionKey eq ${literal(pk)} and RowKey gt ${literal(rk)}))`,
    );
  }
  return parts.join(' and ');
}

function rangeOf(property: 'PartitionKey' | 'RowKey', range: KeyRange): string[] {
  const parts: string[] = [];
  for (const comparison of ['gt', 'ge', 'lt', 'le'] as const) {
    const bound = range[comparison];
    if (bound !== undefined) parts.push(`${property} ${comparison} ${literal(bound)}`);
  }
  if (range.prefix) {
    parts.push(
      `${property} ge ${literal(range.prefix)}`,
      `${property} lt ${literal(prefixEnd(range.prefix))}`,
    );
  }
  return parts;
}

function conditionOf([property, comparison, value]: Condition): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(property)) throw new RangeError(`Not a property name: ${property}`);
  return `${property} ${comparison} ${literal(value)}`;
}

function literal(value: Scalar): string {
  return typeof value === 'string' ? `'${value.replaceAll("'", "''")}'` : String(value);
}

/** How a service that takes options names its storage: a connection string (Azurite) or any Tables. */
export type TablesSource = { readonly connectionString: string } | { readonly tables: Tables };

export function tablesFrom(source: TablesSource): Tables {
  return 'tables' in source ? source.tables : azureTables(source.connectionString);
}
