import { TransientError, VersionConflictError } from '../errors/domain-errors.js';

/**
 * The storage kit: versioned rows of a Table, the same contract on Azure Table storage (azure-tables.ts) and in
 * memory (memory-tables.ts). Absent rows read as null, a lost optimistic race is a VersionConflictError, an outage
 * a TransientError; nothing else is caught.
 */

export interface TableRow {
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** A property value as Table storage keeps it; null and undefined properties are not stored. */
export type Scalar = string | number | boolean;

export interface Stored<T> {
  readonly value: T;
  readonly etag: string;
}

/** Ordinal bounds on a key; `prefix` is the range of keys that start with it. */
export interface KeyRange {
  readonly gt?: string;
  readonly ge?: string;
  readonly lt?: string;
  readonly le?: string;
  readonly prefix?: string;
}

export type Comparison = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** A comparison on a property other than the keys; rows without the property never match. */
export type Condition = readonly [property: string, comparison: Comparison, value: Scalar];

export interface ListOptions {
  readonly partitionKey?: string | KeyRange;
  readonly rowKey?: KeyRange;
  /** All must hold. */
  readonly where?: readonly Condition[];
  /** Only rows after this key (PartitionKey, then RowKey): where a listing continues. */
  readonly after?: TableRow;
  /** Only these properties (and the keys) are read; the rows are then partial, whatever `T` says. */
  readonly select?: readonly string[];
}

export interface PageSettings {
  readonly maxPageSize?: number;
  /** From the previous page; opaque. */
  readonly continuationToken?: string;
}

export interface Page<T> {
  readonly rows: readonly Stored<T>[];
  /** Undefined on the last page. */
  readonly continuationToken: string | undefined;
}

/** Rows in key order (PartitionKey, then RowKey), read lazily; `byPage` reads them a page at a time. */
export interface RowIterator<T> extends AsyncIterableIterator<Stored<T>> {
  byPage(settings?: PageSettings): AsyncIterableIterator<Page<T>>;
}

/**
 * One action of a transaction; all of a transaction's rows share one partition and each row appears once. Azure
 * offers no condition on a transaction's `delete`, and an absent row fails the transaction (as a conflict), unlike
 * VersionedTable.delete.
 */
export type TransactionAction<T extends TableRow> =
  | { readonly kind: 'insert'; readonly row: T }
  | { readonly kind: 'replace'; readonly row: T; readonly etag: string }
  | { readonly kind: 'upsert'; readonly row: T }
  | { readonly kind: 'delete'; readonly partitionKey: string; readonly rowKey: string };

export interface VersionedTable<T extends TableRow> {
  /** Null when the row is absent. */
  get(partitionKey: string, rowKey: string): Promise<Stored<T> | null>;
  /** VersionConflictError when the row exists; returns the new ETag. */
  insert(row: T): Promise<string>;
  /** VersionConflictError when the row changed since `etag` or is gone; returns the new ETag. */
  replace(row: T, etag: string): Promise<string>;
  /** Unconditional insert-or-replace; returns the new ETag. */
  upsert(row: T): Promise<string>;
  /**
   * False when the row was absent already (deleting is idempotent); VersionConflictError when `etag` is given and
   * the row changed since.
   */
  delete(partitionKey: string, rowKey: string, etag?: string): Promise<boolean>;
  list(options?: ListOptions): RowIterator<T>;
  /** All or nothing; VersionConflictError when any action's condition fails. Returns each action's new ETag ('' for a delete). */
  transaction(actions: readonly TransactionAction<T>[]): Promise<string[]>;
}

/** Where the stores' tables live; each table is created on first use. */
export interface Tables {
  table<T extends TableRow>(name: string): VersionedTable<T>;
}

/** Azure's limits on a transaction, enforced by both implementations. */
export const MAX_TRANSACTION_ACTIONS = 100;

export interface OptimisticRetryOptions {
  /** Tries in all, the first included. Default 5. */
  readonly attempts?: number;
  /** The jitter's ceiling before the first retry; it doubles with each retry. Default 10 ms. */
  readonly baseDelayMs?: number;
  /** Where the doubling stops. Default 1 s. */
  readonly maxDelayMs?: number;
  /** In [0, 1). */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a read-modify-write until it wins the race: only a VersionConflictError is retried, after a random (full
 * jitter) pause so that the losers of one race do not collide again. Losing every attempt is contention, not a stale
 * copy of the caller's (that is `domainErrors.versionMismatch`, never retried): it ends as a TransientError, a 503 with
 * Retry-After, rather than a 412 for a precondition the caller never sent.
 */
export async function withOptimisticRetry<R>(
  attempt: (attemptNumber: number) => Promise<R>,
  options: OptimisticRetryOptions = {},
): Promise<R> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const baseDelayMs = options.baseDelayMs ?? 10;
  const maxDelayMs = options.maxDelayMs ?? 1000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  for (let n = 1; n < attempts; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
    }
    await sleep(Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1))));
  }
  try {
    return await attempt(attempts);
  } catch (error) {
    if (!(error instanceof VersionConflictError)) throw error;
    throw new TransientError('Too many changes to the same data at once; try again in a moment.', error, 1);
  }
}

/** The exclusive upper bound of the keys that start with `prefix` (ordinal order). */
export function prefixEnd(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/**
 * Deletes every row `options` lists, one at a time (a listing may span partitions, which no transaction does);
 * idempotent: a row gone already is no error. Returns how many rows were deleted.
 */
export async function deleteListed<T extends TableRow>(
  table: VersionedTable<T>,
  options: ListOptions,
): Promise<number> {
  const keys: TableRow[] = [];
  for await (const { value } of table.list({ ...options, select: [] })) {
    keys.push({ partitionKey: value.partitionKey, rowKey: value.rowKey });
  }
  let deleted = 0;
  for (const key of keys) if (await table.delete(key.partitionKey, key.rowKey)) deleted++;
  return deleted;
}
