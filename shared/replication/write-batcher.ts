import { VersionConflictError } from '../errors/domain-errors.js';
import { MAX_TRANSACTION_ACTIONS, type TableRow, type VersionedTable } from '../storage/versioned-table.js';
import {
  type BatchAction,
  inParallel,
  MAX_TRANSACTION_BYTES,
  PAYLOAD_MARGIN,
  actionBytes,
} from './table-text.js';

export interface WriteBatcherOptions {
  /** Transactions sent at once. */
  readonly maxInFlight: number;
  /** Rows held (waiting and in flight) before a writer must wait; the fullest partitions are sent first. */
  readonly maxBuffered: number;
  /**
   * Bytes of rows held (waiting and in flight) before a writer must wait: a membership row carries up to 2,000
   * member ids, so a bound in rows alone would let a big group's rows pile up by the hundred megabytes.
   */
  readonly maxBufferedBytes?: number;
  /** A partly filled transaction waits at most this long for more rows of its partition. */
  readonly maxWaitMs: number;
  /** Entities per transaction (Azure: 100). */
  readonly maxEntities?: number;
  /** Request body per transaction (Azure: 4 MiB, less a margin for the envelope). */
  readonly maxBytes?: number;
  readonly now?: () => number;
  /**
   * Asked before each transaction; throws once the writer may no longer write (its holder's lease has run out while
   * it waited), which fails that transaction and every later write, so a holder that was taken over stops at once.
   */
  readonly fence?: () => void;
}

/**
 * The callers waiting for rows: one per `put` or `putAll` call, not per row, so that a page of users with its ten
 * thousand index rows costs one promise rather than ten thousand.
 */
interface Waiter {
  remaining: number;
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Pending<T extends TableRow> {
  action: BatchAction<T>;
  bytes: number;
  readonly done: Waiter[];
}

function rowWritten(waiter: Waiter): void {
  if (--waiter.remaining === 0 && !waiter.settled) {
    waiter.settled = true;
    waiter.resolve();
  }
}

function rowFailed(waiter: Waiter, error: unknown): void {
  if (waiter.settled) return;
  waiter.settled = true;
  waiter.reject(error);
}

interface PartitionBuffer<T extends TableRow> {
  readonly rows: Map<string, Pending<T>>;
  bytes: number;
  since: number;
}

interface Flight {
  readonly keys: ReadonlySet<string>;
  readonly settled: Promise<void>;
}

/**
 * Writes rows in entity-group transactions filled across many callers' writes: rows wait per partition until a
 * transaction is full (by count or by size), until too many rows are waiting, or until they have waited `maxWaitMs`;
 * at most `maxInFlight` transactions run at once. Each `put`/`delete` resolves when its row is written (or rejects
 * with its transaction's failure), so a caller can order dependent writes; a later action on a row waiting in the
 * buffer replaces the earlier one, and a transaction never runs beside another that holds one of its rows.
 *
 * Deletes are of rows read earlier: one already gone (a write interrupted half-way and redone) is no error. Table
 * storage fails a whole transaction for one absent row, so a refused transaction with deletes in it is sent again as
 * its upserts in one transaction and its deletes one at a time.
 */
export function createWriteBatcher<T extends TableRow>(
  table: Pick<VersionedTable<T>, 'transaction' | 'delete'>,
  options: WriteBatcherOptions,
) {
  const maxEntities = Math.min(options.maxEntities ?? MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_ACTIONS);
  const maxBytes = options.maxBytes ?? MAX_TRANSACTION_BYTES - PAYLOAD_MARGIN;
  const now = options.now ?? Date.now;
  const maxBufferedBytes = options.maxBufferedBytes ?? Number.POSITIVE_INFINITY;
  const partitions = new Map<string, PartitionBuffer<T>>();
  const flights = new Map<string, Set<Flight>>();
  let buffered = 0;
  let bufferedBytes = 0;
  let inFlight = 0;
  let failure: unknown = null;
  let stopped = false;
  /** Once draining, rows no longer wait for fuller transactions: what a task enqueues goes when it yields. */
  let draining = false;
  let flushQueued = false;
  /** Callers waiting for room, and sends waiting for a free transaction slot. */
  const roomWaiters: Array<() => void> = [];
  const slotWaiters: Array<() => void> = [];
  const idleWaiters: Array<() => void> = [];

  const wake = (waiters: Array<() => void>) => {
    for (const waiter of waiters.splice(0)) waiter();
  };

  /** Waits for every one of `actions` to be written (or rejects with the first failure among them). */
  function enqueueAll(actions: ReadonlyArray<BatchAction<T>>): Promise<void> {
    if (failure) return Promise.reject(failure);
    if (actions.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: actions.length, settled: false, resolve, reject };
      for (const action of actions) enqueue(action, waiter);
    });
  }

  function enqueue(action: BatchAction<T>, waiter: Waiter): void {
    const partitionKey = action.kind === 'upsert' ? action.row.partitionKey : action.partitionKey;
    const rowKey = action.kind === 'upsert' ? action.row.rowKey : action.rowKey;
    const bytes = actionBytes(action);
    let buffer = partitions.get(partitionKey);
    if (!buffer) {
      buffer = { rows: new Map(), bytes: 0, since: now() };
      partitions.set(partitionKey, buffer);
    }
    const earlier = buffer.rows.get(rowKey);
    if (earlier) {
      buffer.bytes += bytes - earlier.bytes;
      bufferedBytes += bytes - earlier.bytes;
      earlier.action = action;
      earlier.bytes = bytes;
      earlier.done.push(waiter);
    } else {
      if (buffer.rows.size > 0 && buffer.bytes + bytes > maxBytes) {
        // Full by size: what waits goes now, and this row starts the partition's next transaction.
        send(partitionKey);
        buffer = { rows: new Map(), bytes: 0, since: now() };
        partitions.set(partitionKey, buffer);
      }
      buffer.rows.set(rowKey, { action, bytes, done: [waiter] });
      buffer.bytes += bytes;
      buffered++;
      bufferedBytes += bytes;
    }
    if (buffer.rows.size >= maxEntities || buffer.bytes >= maxBytes) send(partitionKey);
    if (draining && !flushQueued) {
      flushQueued = true;
      queueMicrotask(() => {
        flushQueued = false;
        flush();
      });
    }
  }

  /** Takes a partition's waiting rows into a transaction of their own, sent once a slot is free. */
  function send(partitionKey: string): void {
    const buffer = partitions.get(partitionKey);
    if (!buffer || buffer.rows.size === 0) return;
    partitions.delete(partitionKey);
    const batch = [...buffer.rows.values()];
    const batchBytes = buffer.bytes;
    const keys = new Set(buffer.rows.keys());
    const overlapping = [...(flights.get(partitionKey) ?? [])].filter((f) =>
      [...f.keys].some((key) => keys.has(key)),
    );
    let finish: () => void = () => {};
    const flight: Flight = { keys, settled: new Promise<void>((resolve) => (finish = resolve)) };
    let set = flights.get(partitionKey);
    if (!set) {
      set = new Set();
      flights.set(partitionKey, set);
    }
    set.add(flight);
    const run = async () => {
      // A row in an earlier transaction still running is written in order: after it.
      await Promise.all(overlapping.map((f) => f.settled));
      while (inFlight >= options.maxInFlight) await new Promise<void>((resolve) => slotWaiters.push(resolve));
      inFlight++;
      try {
        if (stopped) throw failure ?? new Error('The writes were stopped.');
        options.fence?.();
        await write(batch.map((p) => p.action));
        for (const pending of batch) for (const waiter of pending.done) rowWritten(waiter);
      } catch (error) {
        failure ??= error;
        for (const pending of batch) for (const waiter of pending.done) rowFailed(waiter, error);
      } finally {
        inFlight--;
        buffered -= batch.length;
        bufferedBytes -= batchBytes;
        set.delete(flight);
        if (set.size === 0) flights.delete(partitionKey);
        finish();
        wake(slotWaiters.splice(0, 1));
        wake(roomWaiters);
        if (inFlight === 0 && buffered === 0) wake(idleWaiters);
      }
    };
    void run();
  }

  async function write(actions: ReadonlyArray<BatchAction<T>>): Promise<void> {
    try {
      await table.transaction(actions);
    } catch (error) {
      // An upsert has no condition: a conflict in a batch with deletes is a row already gone.
      const deletes = actions.filter((action) => action.kind === 'delete');
      if (!(error instanceof VersionConflictError) || deletes.length === 0) throw error;
      const upserts = actions.filter((action) => action.kind === 'upsert');
      if (upserts.length > 0) await table.transaction(upserts);
      await inParallel(deletes, 4, async ({ partitionKey, rowKey }) => {
        await table.delete(partitionKey, rowKey);
      });
    }
  }

  /** Sends the partitions whose rows have waited long enough, then the fullest ones while too many rows wait. */
  function pressure(): void {
    const at = now();
    for (const [key, buffer] of partitions) if (at - buffer.since >= options.maxWaitMs) send(key);
    let waiting = 0;
    let waitingBytes = 0;
    for (const buffer of partitions.values()) {
      waiting += buffer.rows.size;
      waitingBytes += buffer.bytes;
    }
    const over = () => waiting > options.maxBuffered / 2 || waitingBytes > maxBufferedBytes / 2;
    if (!over()) return;
    const fullest = [...partitions].sort(([, a], [, b]) => b.rows.size - a.rows.size);
    for (const [key, buffer] of fullest) {
      if (!over()) break;
      waiting -= buffer.rows.size;
      waitingBytes -= buffer.bytes;
      send(key);
    }
  }

  function flush(): void {
    for (const key of [...partitions.keys()]) send(key);
  }

  const idle = async () => {
    while (inFlight > 0 || buffered > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
  };

  return {
    put: (row: T) => enqueueAll([{ kind: 'upsert', row }]),
    /** Upserts rows; resolves once all of them are written. */
    putAll: (rows: readonly T[]) => enqueueAll(rows.map((row) => ({ kind: 'upsert', row }))),
    delete: (partitionKey: string, rowKey: string) => enqueueAll([{ kind: 'delete', partitionKey, rowKey }]),

    /** Waits while too many rows (or bytes of rows) are held; throws the first failed transaction's error. */
    async room(): Promise<void> {
      pressure();
      while ((buffered >= options.maxBuffered || bufferedBytes >= maxBufferedBytes) && !failure) {
        await new Promise<void>((resolve) => roomWaiters.push(resolve));
        pressure();
      }
      if (failure) throw failure;
    },

    /** Sends the rows waiting for fuller transactions now: the caller is about to wait for them to be stored. */
    flush(): void {
      flush();
    },

    /**
     * Sends every waiting row, and from now on every row as soon as its writer yields: the end of a phase, whose
     * last writes (a user's row after its index rows) must not wait for rows that will never come. The caller
     * waits for its own writes.
     */
    finish(): void {
      draining = true;
      flush();
    },

    /** Sends every waiting row and waits for the transactions running; throws the first failure. */
    async drain(): Promise<void> {
      this.finish();
      await idle();
      if (failure) throw failure;
    },

    /** No transaction is sent any more: what waits fails; what runs is waited for. Errors are not thrown. */
    async stop(): Promise<void> {
      stopped = true;
      failure ??= new Error('The writes were stopped.');
      flush();
      await idle();
    },
  };
}
