import { createHash } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { lazyTable } from '../storage/table-client.js';
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

/** Another invocation wrote the task (or the customer's lock) first. */
export class TaskConflictError extends Error {
  override readonly name = 'TaskConflictError';
}

export interface TaskListQuery {
  readonly customerId?: string;
  readonly state?: TaskState;
  readonly top: number;
  /** The key of the last task of the previous page (newest first). */
  readonly after?: string;
}

export interface TaskPage {
  readonly tasks: readonly TaskRecord[];
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
  /** Replaces the task if still at `etag`, else TaskConflictError; returns the new ETag. */
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
  /** Tasks the index marks active (not finished), oldest first, at most `limit`. */
  listActive(limit: number): Promise<ActiveTaskRef[]>;
  /** Deletes the task (if still at `etag`, else TaskConflictError) and its index and idempotency rows. */
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
};

type LockEntity = {
  partitionKey: string;
  rowKey: string;
  holder: string;
};

/** A Table property holds 32K UTF-16 characters, an entity 1 MiB: 15 chunks of 30,000 fit with room to spare. */
const CHUNK = 30_000;
const MAX_CHUNKS = 15;
export const MAX_TASK_JSON_CHARS = CHUNK * MAX_CHUNKS;

export function createTableTaskStore(connectionString: string, tableName: string = TASKS_TABLE): TaskStore {
  const table = lazyTable(connectionString, tableName);

  async function getIn(customerId: string, taskId: string): Promise<VersionedTask | null> {
    const client = await table();
    try {
      const entity = await client.getEntity<TaskEntity>(pk(customerId), taskRowKey(taskId));
      return { task: toRecord(entity), etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async function transact(client: TableClient, actions: TransactionAction[], rowKey: string, what: string) {
    try {
      const response = await client.submitTransaction(actions);
      // The task row is always the first action; sub-responses come back in order.
      const etag = response.subResponses[0]?.etag;
      if (etag) return etag;
      const entity = await client.getEntity(partitionOf(actions), rowKey);
      if (!entity.etag) throw new Error(`Table Storage returned no ETag for ${what}.`);
      return entity.etag;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409 || status === 404) {
        throw new TaskConflictError(`${what} changed meanwhile.`);
      }
      throw error;
    }
  }

  async function mirror(task: TaskRecord): Promise<void> {
    const client = await table();
    const entity: IndexEntity = {
      partitionKey: INDEX_PARTITION,
      rowKey: newestFirstKey(task.id),
      customerId: task.customerId,
      type: task.type,
      state: task.state,
      createdAt: task.createdAt,
      active: !isFinal(task.state),
    };
    await client.upsertEntity(entity, 'Replace');
  }

  return {
    async create(task) {
      const client = await table();
      // The index row first: a task row is never unreachable by id. An orphan index row (the create failed)
      // leads nowhere and is skipped.
      if (task.idempotencyKey) {
        const existing = await idempotent(client, task.customerId, task.idempotencyKey);
        if (existing) return { task: existing, created: false };
      }
      await mirror(task);
      const entity = toEntity(task);
      const actions: TransactionAction[] = [['create', entity]];
      if (task.idempotencyKey) {
        actions.push([
          'create',
          {
            partitionKey: pk(task.customerId),
            rowKey: idempotencyRowKey(task.idempotencyKey),
            taskId: task.id,
          },
        ]);
      }
      try {
        const etag = await transact(client, actions, entity.rowKey, `Task ${task.id}`);
        return { task: { task, etag }, created: true };
      } catch (error) {
        if (!(error instanceof TaskConflictError) || !task.idempotencyKey) throw error;
        // A concurrent start with the same key won.
        const existing = await idempotent(client, task.customerId, task.idempotencyKey);
        if (!existing) throw error;
        return { task: existing, created: false };
      }
    },

    async get(taskId) {
      const client = await table();
      let customerId: string;
      try {
        customerId = (await client.getEntity<IndexEntity>(INDEX_PARTITION, newestFirstKey(taskId)))
          .customerId;
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
      return getIn(customerId, taskId);
    },

    getIn,

    async replace(task, etag) {
      const client = await table();
      try {
        const { etag: next } = await client.updateEntity(toEntity(task), 'Replace', { etag });
        if (!next) throw new Error(`Table Storage returned no ETag for task ${task.id}.`);
        return next;
      } catch (error) {
        const status = statusOf(error);
        if (status === 412 || status === 404)
          throw new TaskConflictError(`Task ${task.id} changed meanwhile.`);
        throw error;
      }
    },

    async replaceAndLock(task, etag, lock) {
      const client = await table();
      const entity = toEntity(task);
      const lockEntity: LockEntity = { partitionKey: pk(task.customerId), rowKey: LOCK_ROW, holder: task.id };
      return transact(
        client,
        [
          ['update', entity, 'Replace', { etag }],
          lock.etag ? ['update', lockEntity, 'Replace', { etag: lock.etag }] : ['create', lockEntity],
        ],
        entity.rowKey,
        `Task ${task.id} or the lock of ${task.customerId}`,
      );
    },

    async replaceAndUnlock(task, etag, lock) {
      const client = await table();
      const entity = toEntity(task);
      const actions: TransactionAction[] = [['update', entity, 'Replace', { etag }]];
      if (lock.holder === task.id && lock.etag) {
        const free: LockEntity = { partitionKey: pk(task.customerId), rowKey: LOCK_ROW, holder: '' };
        actions.push(['update', free, 'Replace', { etag: lock.etag }]);
      }
      return transact(client, actions, entity.rowKey, `Task ${task.id} or the lock of ${task.customerId}`);
    },

    async lock(customerId) {
      const client = await table();
      try {
        const entity = await client.getEntity<LockEntity>(pk(customerId), LOCK_ROW);
        return { holder: entity.holder || null, etag: entity.etag };
      } catch (error) {
        if (statusOf(error) === 404) return { holder: null, etag: null };
        throw error;
      }
    },

    mirror,

    async list(query) {
      const client = await table();
      const after = query.after ?? '';
      const found: TaskRecord[] = [];
      let nextKey: string | null = null;
      if (query.customerId) {
        const filter = query.state
          ? odata`PartitionKey eq ${pk(query.customerId)} and RowKey gt ${TASK_ROW_PREFIX + after} and RowKey lt ${'t.'} and state eq ${query.state}`
          : odata`PartitionKey eq ${pk(query.customerId)} and RowKey gt ${TASK_ROW_PREFIX + after} and RowKey lt ${'t.'}`;
        for await (const entity of client.listEntities<TaskEntity>({ queryOptions: { filter } })) {
          if (found.length === query.top) {
            nextKey = newestFirstKey(found[found.length - 1]?.id ?? '');
            break;
          }
          found.push(toRecord(entity));
        }
        return { tasks: found, nextKey };
      }
      const filter = query.state
        ? odata`PartitionKey eq ${INDEX_PARTITION} and RowKey gt ${after} and state eq ${query.state}`
        : odata`PartitionKey eq ${INDEX_PARTITION} and RowKey gt ${after}`;
      const refs: IndexEntity[] = [];
      for await (const entity of client.listEntities<IndexEntity>({ queryOptions: { filter } })) {
        if (refs.length === query.top) {
          nextKey = refs[refs.length - 1]?.rowKey ?? null;
          break;
        }
        refs.push(entity);
      }
      const tasks = await Promise.all(refs.map((ref) => getIn(ref.customerId, taskIdOfKey(ref.rowKey))));
      return { tasks: tasks.flatMap((t) => (t ? [t.task] : [])), nextKey };
    },

    async oldestQueued(customerId, exceptId) {
      const client = await table();
      let oldest: TaskRecord | null = null;
      const filter = odata`PartitionKey eq ${pk(customerId)} and RowKey gt ${TASK_ROW_PREFIX} and RowKey lt ${'t.'} and state eq ${'Queued'}`;
      // Newest first: the last one read is the oldest. A customer has few Queued tasks at a time.
      for await (const entity of client.listEntities<TaskEntity>({ queryOptions: { filter } })) {
        if (entity.taskId !== exceptId) oldest = toRecord(entity);
      }
      return oldest;
    },

    async delete(task, etag) {
      const client = await table();
      try {
        await client.deleteEntity(pk(task.customerId), taskRowKey(task.id), { etag });
      } catch (error) {
        const status = statusOf(error);
        if (status === 412 || status === 409)
          throw new TaskConflictError(`Task ${task.id} changed meanwhile.`);
        if (status !== 404) throw error;
      }
      // After the task row: a key without its task starts a new one, an index row without a task leads nowhere.
      const leftovers: Array<[string, string]> = [[INDEX_PARTITION, newestFirstKey(task.id)]];
      if (task.idempotencyKey) leftovers.push([pk(task.customerId), idempotencyRowKey(task.idempotencyKey)]);
      for (const [partition, row] of leftovers) {
        try {
          await client.deleteEntity(partition, row);
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      }
    },

    async listActive(limit) {
      const client = await table();
      const refs: ActiveTaskRef[] = [];
      const filter = odata`PartitionKey eq ${INDEX_PARTITION} and active eq ${true}`;
      for await (const entity of client.listEntities<IndexEntity>({ queryOptions: { filter } })) {
        refs.push({ taskId: taskIdOfKey(entity.rowKey), customerId: entity.customerId });
      }
      // Oldest first, so that a long backlog is worked through in order.
      return refs.reverse().slice(0, limit);
    },
  };

  async function idempotent(
    client: TableClient,
    customerId: string,
    key: string,
  ): Promise<VersionedTask | null> {
    try {
      const row = await client.getEntity<{ taskId: string }>(pk(customerId), idempotencyRowKey(key));
      return await getIn(customerId, row.taskId);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }
}

function partitionOf(actions: readonly TransactionAction[]): string {
  return String(actions[0]?.[1].partitionKey ?? '');
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

function statusOf(error: unknown): number | undefined {
  const status = error !== null && typeof error === 'object' ? Reflect.get(error, 'statusCode') : undefined;
  return typeof status === 'number' ? status : undefined;
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
  const task = JSON.parse(text) as TaskRecord;
  if (!TASK_STATES.includes(task.state))
    throw new Error(`Task ${task.id} has an unknown state '${task.state}'.`);
  return task;
}
