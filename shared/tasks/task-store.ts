import { createHash } from 'node:crypto';
import { VersionConflictError } from '../errors/domain-errors.js';
import { azureTables } from '../storage/azure-tables.js';
import { isTaskType } from './task-definition.js';
import {
  type Condition,
  deleteListed,
  type Tables,
  type TransactionAction,
} from '../storage/versioned-table.js';
import {
  type CustomerLock,
  newestFirstKey,
  type TaskRecord,
  type TaskState,
  TASK_STATES,
  taskIdOfKey,
  type VersionedTask,
  isFinal,
} from './task-record.js';

export const TASKS_TABLE = 'tasks';
/**
 * The cross-customer index: one row per task (its customer, Cmd Type, mirrored State), so that a task is found by
 * id alone and the Queued Tasks page lists all customers newest first. Short Names cannot start with `_`.
 */
export const INDEX_PARTITION = '_index';
const TASK_ROW_PREFIX = 't-';
const LOCK_ROW = 'lock';
const IDEMPOTENCY_ROW_PREFIX = 'idem-';

export interface TaskListQuery {
  readonly customerId?: string;
  /** With customerId: only tasks created after this time (its Short Name's last release, docs/decisions.md 69). */
  readonly since?: string | null;
  readonly state?: TaskState;
  readonly top: number;
  /** The key of the last task of the previous page (newest first). */
  readonly after?: string;
}

/**
 * A task as the Queued Tasks page lists it (the manual's columns): what the cross-customer index copies, so that a
 * page is one query. The copy is as of the task's last State change; the task itself has the rest.
 */
export type TaskListEntry = Pick<
  TaskRecord,
  | 'id'
  | 'type'
  | 'customerId'
  | 'state'
  | 'dryRun'
  | 'retries'
  | 'nextExecutionAt'
  | 'waiting'
  | 'result'
  | 'createdAt'
  | 'executedAt'
  | 'finishedAt'
>;

export interface TaskPage {
  readonly tasks: readonly TaskListEntry[];
  readonly nextKey: string | null;
}

export interface ActiveTaskRef {
  readonly taskId: string;
  readonly customerId: string;
}

export interface TaskStore {
  /**
   * Stores a new task, or with an idempotency key already used for this customer returns the task it started
   * (`created: false`) — both in one transaction, so two concurrent starters get the same task.
   */
  create(task: TaskRecord): Promise<{ readonly task: VersionedTask; readonly created: boolean }>;
  /** By id alone, through the index. */
  get(taskId: string): Promise<VersionedTask | null>;
  getIn(customerId: string, taskId: string): Promise<VersionedTask | null>;
  /** Replaces the task if still at `etag`, else VersionConflictError; returns the new ETag. */
  replace(task: TaskRecord, etag: string): Promise<string>;
  /** Replaces the task and makes it the customer's lock holder, atomically, both conditional. */
  replaceAndLock(task: TaskRecord, etag: string, lock: CustomerLock): Promise<string>;
  /** Replaces the task and frees the customer's lock if this task holds it, atomically. */
  replaceAndUnlock(task: TaskRecord, etag: string, lock: CustomerLock): Promise<string>;
  lock(customerId: string): Promise<CustomerLock>;
  /** Mirrors the task's State into the index (best effort: the task row is the truth). */
  mirror(task: TaskRecord): Promise<void>;
  list(query: TaskListQuery): Promise<TaskPage>;
  /** The customer's oldest Queued task other than `exceptId`. */
  oldestQueued(customerId: string, exceptId: string): Promise<TaskRecord | null>;
  /** The customer's tasks in `state`, oldest first, with their ETags. A customer has few unfinished tasks. */
  inState(customerId: string, state: TaskState): Promise<VersionedTask[]>;
  /** The customer's unfinished tasks of these Cmd Types, oldest first. */
  unfinishedOfTypes(customerId: string, types: readonly string[]): Promise<TaskRecord[]>;
  /** Tasks the index marks active (not finished), oldest first, at most `limit`. */
  listActive(limit: number): Promise<ActiveTaskRef[]>;
  /**
   * The customer's idempotency keys, for its removal: a later customer of the Short Name that uses the same key
   * starts a task of its own. Its tasks stay, the provider's history. Returns the rows deleted.
   */
  forgetIdempotencyKeys(customerId: string): Promise<number>;
  /** Deletes the task (if still at `etag`, else VersionConflictError) and its index and idempotency rows. */
  delete(task: TaskRecord, etag: string): Promise<void>;
}

type TaskEntity = {
  partitionKey: string;
  rowKey: string;
  kind: 'task';
  taskId: string;
  type: string;
  state: string;
  createdAt: string;
  nextExecutionAt?: string;
  [chunk: `body${number}`]: string;
};

type IndexEntity = {
  partitionKey: string;
  rowKey: string;
  customerId: string;
  type: string;
  state: string;
  createdAt: string;
  active: boolean;
} & Partial<ListCopy>;

/** The list's fields beyond those above, as the index row copies them (absent: null); `copied` marks a row that has them. */
type ListCopy = {
  copied: true;
  dryRun: boolean;
  retries: number;
  nextExecutionAt: string;
  waitingReason: string;
  waitingResumeOn: string;
  result: string;
  executedAt: string;
  finishedAt: string;
};

type LockEntity = {
  partitionKey: string;
  rowKey: string;
  holder: string;
};

type IdempotencyEntity = {
  partitionKey: string;
  rowKey: string;
  taskId: string;
};

/** A Table property holds 32K UTF-16 characters, an entity 1 MiB: 15 chunks of 30,000 fit with room to spare. */
const CHUNK = 30_000;
const MAX_CHUNKS = 15;
export const MAX_TASK_JSON_CHARS = CHUNK * MAX_CHUNKS;

export function createTableTaskStore(connectionString: string, tableName: string = TASKS_TABLE): TaskStore {
  return createTaskStore(azureTables(connectionString), tableName);
}

export function createTaskStore(tables: Tables, tableName: string = TASKS_TABLE): TaskStore {
  const tasks = tables.table<TaskEntity>(tableName);
  const index = tables.table<IndexEntity>(tableName);
  const locks = tables.table<LockEntity>(tableName);
  const idempotency = tables.table<IdempotencyEntity>(tableName);
  /** A task with its lock or idempotency row, which share its customer's partition. */
  const together = tables.table<TaskEntity | LockEntity | IdempotencyEntity>(tableName);

  async function getIn(customerId: string, taskId: string): Promise<VersionedTask | null> {
    const found = await tasks.get(pk(customerId), taskRowKey(taskId));
    return found ? { task: toRecord(found.value), etag: found.etag } : null;
  }

  /** The task row is always the first action: its ETag is the one returned. */
  async function transact(actions: TransactionAction<TaskEntity | LockEntity | IdempotencyEntity>[]) {
    const [etag] = await together.transaction(actions);
    return etag ?? '';
  }

  async function mirror(task: TaskRecord): Promise<void> {
    await index.upsert({
      partitionKey: INDEX_PARTITION,
      rowKey: newestFirstKey(task.id),
      customerId: task.customerId,
      type: task.type,
      state: task.state,
      createdAt: task.createdAt,
      active: !isFinal(task.state),
      copied: true,
      dryRun: task.dryRun,
      retries: task.retries,
      ...(task.nextExecutionAt !== null ? { nextExecutionAt: task.nextExecutionAt } : {}),
      ...(task.waiting ? { waitingReason: task.waiting.reason, waitingResumeOn: task.waiting.resumeOn } : {}),
      ...(task.result !== null ? { result: task.result } : {}),
      ...(task.executedAt !== null ? { executedAt: task.executedAt } : {}),
      ...(task.finishedAt !== null ? { finishedAt: task.finishedAt } : {}),
    });
  }

  async function idempotent(customerId: string, key: string): Promise<VersionedTask | null> {
    const row = await idempotency.get(pk(customerId), idempotencyRowKey(key));
    return row ? getIn(customerId, row.value.taskId) : null;
  }

  return {
    async create(task) {
      // The index row first: a task row is never unreachable by id. An orphan index row (the create failed)
      // leads nowhere and is skipped.
      if (task.idempotencyKey) {
        const existing = await idempotent(task.customerId, task.idempotencyKey);
        if (existing) return { task: existing, created: false };
      }
      await mirror(task);
      const actions: TransactionAction<TaskEntity | IdempotencyEntity>[] = [
        { kind: 'insert', row: toEntity(task) },
      ];
      if (task.idempotencyKey) {
        actions.push({
          kind: 'insert',
          row: {
            partitionKey: pk(task.customerId),
            rowKey: idempotencyRowKey(task.idempotencyKey),
            taskId: task.id,
          },
        });
      }
      try {
        const etag = await transact(actions);
        return { task: { task, etag }, created: true };
      } catch (error) {
        if (!(error instanceof VersionConflictError) || !task.idempotencyKey) throw error;
        // A concurrent start with the same key won.
        const existing = await idempotent(task.customerId, task.idempotencyKey);
        if (!existing) throw error;
        return { task: existing, created: false };
      }
    },

    async get(taskId) {
      const ref = await index.get(INDEX_PARTITION, newestFirstKey(taskId));
      return ref ? getIn(ref.value.customerId, taskId) : null;
    },

    getIn,

    replace: (task, etag) => tasks.replace(toEntity(task), etag),

    async replaceAndLock(task, etag, lock) {
      const lockEntity: LockEntity = { partitionKey: pk(task.customerId), rowKey: LOCK_ROW, holder: task.id };
      return transact([
        { kind: 'replace', row: toEntity(task), etag },
        lock.etag
          ? { kind: 'replace', row: lockEntity, etag: lock.etag }
          : { kind: 'insert', row: lockEntity },
      ]);
    },

    async replaceAndUnlock(task, etag, lock) {
      const actions: TransactionAction<TaskEntity | LockEntity>[] = [
        { kind: 'replace', row: toEntity(task), etag },
      ];
      if (lock.holder === task.id && lock.etag) {
        const free: LockEntity = { partitionKey: pk(task.customerId), rowKey: LOCK_ROW, holder: '' };
        actions.push({ kind: 'replace', row: free, etag: lock.etag });
      }
      return transact(actions);
    },

    async lock(customerId) {
      const found = await locks.get(pk(customerId), LOCK_ROW);
      return found ? { holder: found.value.holder || null, etag: found.etag } : { holder: null, etag: null };
    },

    mirror,

    async list(query) {
      const after = query.after ?? '';
      const found: TaskRecord[] = [];
      let nextKey: string | null = null;
      const where: Condition[] = query.state ? [['state', 'eq', query.state]] : [];
      if (query.customerId) {
        const rows = tasks.list({
          partitionKey: pk(query.customerId),
          rowKey: { gt: TASK_ROW_PREFIX + after, lt: 't.' },
          where: query.since ? [...where, ['createdAt', 'gt', query.since]] : where,
        });
        for await (const { value } of rows) {
          if (found.length === query.top) {
            nextKey = newestFirstKey(found[found.length - 1]?.id ?? '');
            break;
          }
          found.push(toRecord(value));
        }
        return { tasks: found.map(toListEntry), nextKey };
      }
      const refs: IndexEntity[] = [];
      // Pages of one more than the list shows (to tell whether more follow): the storage returns no more than that.
      const pages = index
        .list({ partitionKey: INDEX_PARTITION, rowKey: { gt: after }, where })
        .byPage({ maxPageSize: Math.min(1000, query.top + 1) });
      pages: for await (const page of pages) {
        for (const { value } of page.rows) {
          if (refs.length === query.top) {
            nextKey = refs[refs.length - 1]?.rowKey ?? null;
            break pages;
          }
          refs.push(value);
        }
      }
      // A row mirrored before the index copied the list's fields is read from its task, once: its next mirror copies them.
      const entries = await Promise.all(
        refs.map(async (ref) => {
          const copy = fromIndex(ref);
          if (copy) return copy;
          const versioned = await getIn(ref.customerId, taskIdOfKey(ref.rowKey));
          return versioned ? toListEntry(versioned.task) : null;
        }),
      );
      return { tasks: entries.flatMap((t) => (t ? [t] : [])), nextKey };
    },

    async oldestQueued(customerId, exceptId) {
      let oldest: TaskRecord | null = null;
      const rows = tasks.list({
        partitionKey: pk(customerId),
        rowKey: { gt: TASK_ROW_PREFIX, lt: 't.' },
        where: [['state', 'eq', 'queued']],
      });
      // Newest first: the last one read is the oldest. A customer has few Queued tasks at a time.
      for await (const { value } of rows) {
        if (value.taskId !== exceptId) oldest = toRecord(value);
      }
      return oldest;
    },

    async inState(customerId, state) {
      const found: VersionedTask[] = [];
      const rows = tasks.list({
        partitionKey: pk(customerId),
        rowKey: { gt: TASK_ROW_PREFIX, lt: 't.' },
        where: [['state', 'eq', state]],
      });
      for await (const { value, etag } of rows) found.push({ task: toRecord(value), etag });
      return found.reverse();
    },

    async unfinishedOfTypes(customerId, types) {
      const found: TaskRecord[] = [];
      for (const type of types) {
        const rows = tasks.list({
          partitionKey: pk(customerId),
          rowKey: { gt: TASK_ROW_PREFIX, lt: 't.' },
          where: [['type', 'eq', type]],
        });
        for await (const { value } of rows) {
          const task = toRecord(value);
          if (!isFinal(task.state)) found.push(task);
        }
      }
      return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    forgetIdempotencyKeys: (customerId) =>
      deleteListed(idempotency, { partitionKey: pk(customerId), rowKey: { prefix: IDEMPOTENCY_ROW_PREFIX } }),

    async delete(task, etag) {
      await tasks.delete(pk(task.customerId), taskRowKey(task.id), etag);
      // After the task row: a key without its task starts a new one, an index row without a task leads nowhere.
      await index.delete(INDEX_PARTITION, newestFirstKey(task.id));
      if (task.idempotencyKey)
        await idempotency.delete(pk(task.customerId), idempotencyRowKey(task.idempotencyKey));
    },

    async listActive(limit) {
      const refs: ActiveTaskRef[] = [];
      for await (const { value } of index.list({
        partitionKey: INDEX_PARTITION,
        where: [['active', 'eq', true]],
      })) {
        refs.push({ taskId: taskIdOfKey(value.rowKey), customerId: value.customerId });
      }
      // Oldest first, so that a long backlog is worked through in order.
      return refs.reverse().slice(0, limit);
    },
  };
}

/** Short Names are unique without regard to case: so is the customer's partition. */
function pk(customerId: string): string {
  return customerId.toLowerCase();
}

function taskRowKey(taskId: string): string {
  return TASK_ROW_PREFIX + newestFirstKey(taskId);
}

/** Hashed: keys are the caller's text, which may hold characters a RowKey cannot. */
function idempotencyRowKey(key: string): string {
  return IDEMPOTENCY_ROW_PREFIX + createHash('sha256').update(key, 'utf8').digest('hex');
}

function toEntity(task: TaskRecord): TaskEntity {
  const text = JSON.stringify(task);
  if (text.length > MAX_TASK_JSON_CHARS) {
    throw new RangeError(`Task ${task.id} is too large to store (${text.length} characters).`);
  }
  const entity: TaskEntity = {
    partitionKey: pk(task.customerId),
    rowKey: taskRowKey(task.id),
    kind: 'task',
    taskId: task.id,
    type: task.type,
    state: task.state,
    createdAt: task.createdAt,
    ...(task.nextExecutionAt ? { nextExecutionAt: task.nextExecutionAt } : {}),
  };
  for (let i = 0; i * CHUNK < text.length; i++) entity[`body${i}`] = text.slice(i * CHUNK, (i + 1) * CHUNK);
  return entity;
}

function toRecord(entity: TaskEntity): TaskRecord {
  let text = '';
  for (let i = 0; typeof entity[`body${i}`] === 'string'; i++) text += entity[`body${i}`];
  // Rows written before leases had holders and retries had windows lack these fields.
  const stored = JSON.parse(text) as Partial<TaskRecord> &
    Omit<TaskRecord, 'leaseHolder' | 'leaseRun' | 'retry'>;
  const task: TaskRecord = {
    ...stored,
    leaseHolder: stored.leaseHolder ?? null,
    leaseRun: stored.leaseRun ?? null,
    retry: stored.retry ?? null,
  };
  if (!TASK_STATES.includes(task.state))
    throw new Error(`Task ${task.id} has an unknown state '${task.state}'.`);
  return task;
}

function toListEntry(task: TaskRecord): TaskListEntry {
  return {
    id: task.id,
    type: task.type,
    customerId: task.customerId,
    state: task.state,
    dryRun: task.dryRun,
    retries: task.retries,
    nextExecutionAt: task.nextExecutionAt,
    waiting: task.waiting,
    result: task.result,
    createdAt: task.createdAt,
    executedAt: task.executedAt,
    finishedAt: task.finishedAt,
  };
}

const RESUME_ON = ['operator', 'timer', 'customer'] as const;

/** The list's entry from the index's copy; null when the row has none (mirrored before the copy existed). */
function fromIndex(row: IndexEntity): TaskListEntry | null {
  const state = TASK_STATES.find((s) => s === row.state);
  const type = row.type;
  if (!row.copied || state === undefined || !isTaskType(type)) return null;
  const resumeOn = RESUME_ON.find((r) => r === row.waitingResumeOn);
  return {
    id: taskIdOfKey(row.rowKey),
    type,
    customerId: row.customerId,
    state,
    dryRun: row.dryRun ?? false,
    retries: row.retries ?? 0,
    nextExecutionAt: row.nextExecutionAt ?? null,
    waiting: row.waitingReason !== undefined && resumeOn ? { reason: row.waitingReason, resumeOn } : null,
    result: row.result ?? null,
    createdAt: row.createdAt,
    executedAt: row.executedAt ?? null,
    finishedAt: row.finishedAt ?? null,
  };
}
