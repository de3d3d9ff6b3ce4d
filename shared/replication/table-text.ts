import { VersionConflictError } from '../errors/domain-errors.js';
import { MAX_TRANSACTION_ACTIONS, type TableRow, type VersionedTable } from '../storage/versioned-table.js';

/**
 * A string property holds at most 32K UTF-16 characters (64 KiB); longer JSON is split over `d0`, `d1`, … of one
 * entity (an entity holds 1 MiB).
 */
const PART_CHARS = 30_000;

export function packText(text: string, column = 'd'): Record<string, string> {
  const parts: Record<string, string> = {};
  for (let i = 0, n = 0; i < text.length || n === 0; i += PART_CHARS, n++) {
    parts[`${column}${n}`] = text.slice(i, i + PART_CHARS);
  }
  return parts;
}

export function unpackText(entity: Readonly<Record<string, unknown>>, column = 'd'): string {
  let text = '';
  for (let n = 0; typeof entity[`${column}${n}`] === 'string'; n++) text += entity[`${column}${n}`] as string;
  return text;
}

/** OData string literal. */
export function odata(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Runs `work` over `items` with at most `limit` at once; the first failure rejects. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** How many of a refused batch's deletes are sent at once (each transaction's batch has its own). */
const PARALLEL_DELETES = 4;

type GroupedAction<T extends TableRow> =
  | { readonly kind: 'upsert'; readonly row: T }
  | { readonly kind: 'delete'; readonly partitionKey: string; readonly rowKey: string };

/**
 * Azure Table storage's limits on an entity group transaction ("Performing entity group transactions", Microsoft
 * Learn): at most 100 entities, one partition, each row once, and a payload of at most 4 MiB; an entity holds at
 * most 1 MiB. The batcher keeps a margin under the payload limit for the multipart envelope it does not see.
 */
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
export const PAYLOAD_MARGIN = 256 * 1024;
/** The multipart envelope of one operation (boundary, request line, headers) and the entity's own JSON punctuation. */
const OPERATION_OVERHEAD = 600;
/** A short string costs at most three UTF-8 bytes per UTF-16 unit; a long one is measured as the JSON it becomes. */
const SHORT_STRING = 256;

export type BatchAction<T extends TableRow> = GroupedAction<T>;

/** An upper bound on an action's share of a transaction's request body. */
export function actionBytes(action: BatchAction<TableRow>): number {
  if (action.kind === 'delete')
    return OPERATION_OVERHEAD + 3 * (action.partitionKey.length + action.rowKey.length);
  let bytes = OPERATION_OVERHEAD;
  const row = action.row as unknown as Readonly<Record<string, unknown>>;
  // A loop over the keys rather than Object.entries: this runs for every row a cycle writes (a million for the
  // first cycle of 100,000 users), and the pairs Object.entries would allocate were a measurable share of its GC.
  for (const name in row) {
    const value = row[name];
    bytes += name.length + 8;
    if (typeof value !== 'string') bytes += 32;
    else if (value.length <= SHORT_STRING) bytes += 3 * value.length + 2;
    else bytes += Buffer.byteLength(JSON.stringify(value));
  }
  return bytes;
}

/**
 * Writes rows in entity-group transactions: grouped by partition, as many per transaction as the service allows,
 * several transactions at once. A delete of a row that is gone already is no error, as with VersionedTable.delete:
 * the deletes are computed from rows read earlier, and a write interrupted half-way (a crash, an outage) has removed
 * some of them when it is redone. Table storage fails a whole transaction for one absent row, so a batch refused
 * with deletes in it is sent again as its upserts in one transaction and its deletes one at a time; only the
 * batches an interrupted write left behind pay that, every other batch stays one transaction of up to 100 rows.
 */
export async function submitGrouped<T extends TableRow>(
  table: VersionedTable<T>,
  actions: ReadonlyArray<GroupedAction<T>>,
  parallel = 8,
): Promise<void> {
  const byPartition = new Map<string, Array<GroupedAction<T>>>();
  for (const action of actions) {
    const key = action.kind === 'upsert' ? action.row.partitionKey : action.partitionKey;
    let list = byPartition.get(key);
    if (!list) {
      list = [];
      byPartition.set(key, list);
    }
    list.push(action);
  }
  const batches: Array<Array<GroupedAction<T>>> = [];
  const maxBytes = MAX_TRANSACTION_BYTES - PAYLOAD_MARGIN;
  for (const list of byPartition.values()) {
    let batch: Array<GroupedAction<T>> = [];
    let bytes = 0;
    for (const action of list) {
      const size = actionBytes(action);
      if (batch.length === MAX_TRANSACTION_ACTIONS || (batch.length > 0 && bytes + size > maxBytes)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(action);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
  }
  await inParallel(batches, parallel, async (batch) => {
    try {
      await table.transaction(batch);
    } catch (error) {
      // An upsert has no condition: a conflict in a batch with deletes is a row already gone.
      const deletes = batch.filter((action) => action.kind === 'delete');
      if (!(error instanceof VersionConflictError) || deletes.length === 0) throw error;
      const upserts = batch.filter((action) => action.kind === 'upsert');
      if (upserts.length > 0) await table.transaction(upserts);
      await inParallel(deletes, PARALLEL_DELETES, async ({ partitionKey, rowKey }) => {
        await table.delete(partitionKey, rowKey);
      });
    }
  });
}
