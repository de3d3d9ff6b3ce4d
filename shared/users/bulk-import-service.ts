import { randomUUID } from 'node:crypto';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import type { MirrorStore } from '../replication/mirror-store.js';
import { inParallel } from '../replication/table-text.js';
import { KEY_SEPARATOR, keyPart, upnBucket } from '../replication/user-index.js';
import type { MirrorUser } from '../replication/mirror-user.js';
import { PermanentTaskError, TransientTaskError } from '../tasks/task-definition.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TaskRecord } from '../tasks/task-record.js';
import {
  IMPORT_LIMITS,
  type ImportDirectory,
  type ImportPlan,
  type ImportPlanOptions,
  type PlannedRow,
  planImport,
  resultCsv,
  type RowError,
} from './bulk-import.js';
import { type ChunkOutcome, chunked, type UserImport, type UserImportStore } from './bulk-import-store.js';
import type { UserChangeExecution } from './ports.js';
import type { UserChange } from './user-change.js';

/** The Cmd Type of an import's task: the manual's user changes are "Office365" commands; this one is a batch. */
export const USER_IMPORT_TASK_TYPE = 'Office365 import';

export interface UserImportDeps {
  readonly store: UserImportStore;
  readonly directory: ImportDirectory;
  readonly execution: UserChangeExecution;
  readonly taskEngine: Pick<TaskEngine, 'start' | 'get'>;
  readonly now?: () => Date;
  /** Rows applied at once (DEFAULT_IMPORT_CONCURRENCY). */
  readonly concurrency?: number;
}

/** At most this many UPNs are looked up one by one (two reads each); more are found by one pass over the users. */
const UPN_LOOKUPS = 2000;
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The mirror as the import's directory. Object ids are point reads; UPNs are looked up in the UPN index (a key
 * prefix, then a point read) while they are few, as a lifecycle pass's or a template's file names them, and found
 * by one pass over the customer's users when a large file names many (a pass costs less than that many lookups).
 */
export function mirrorDirectory(
  mirror: Pick<MirrorStore, 'listUsers' | 'getUser' | 'indexPage'>,
): ImportDirectory {
  async function scan(customerId: string, keys: ReadonlySet<string>, found: Map<string, MirrorUser>) {
    let cursor: Parameters<MirrorStore['listUsers']>[2];
    do {
      const page = await mirror.listUsers(customerId, 1000, cursor);
      for (const user of page.items) {
        for (const key of [user.id.toLowerCase(), user.userPrincipalName.toLowerCase()]) {
          if (keys.has(key)) found.set(key, user);
        }
      }
      cursor = page.next ?? undefined;
    } while (cursor && found.size < keys.size);
  }

  return {
    async findUsers(customerId, keys) {
      const found = new Map<string, MirrorUser>();
      const ids = [...keys].filter((key) => OBJECT_ID.test(key));
      const upns = [...keys].filter((key) => !OBJECT_ID.test(key));
      if (upns.length > UPN_LOOKUPS) {
        await scan(customerId, keys, found);
        return found;
      }
      await inParallel(ids, 16, async (id) => {
        const user = await mirror.getUser(customerId, id);
        if (user) found.set(id, user);
      });
      await inParallel(upns, 16, async (upn) => {
        const page = await mirror.indexPage(customerId, {
          family: 'user-principal-name',
          buckets: [upnBucket(upn)],
          prefix: `${keyPart(upn)}${KEY_SEPARATOR}`,
          where: [],
          top: 5,
        });
        for (const indexed of page.items) {
          if (indexed.userPrincipalName.toLowerCase() !== upn) continue;
          const user = await mirror.getUser(customerId, indexed.id);
          if (user) found.set(upn, user);
        }
      });
      return found;
    },
  };
}

/** The import's progress as the GET shows it; `failed` when its task ended without finishing the rows. */
export function importState(value: UserImport, task: TaskRecord | null): UserImport['state'] | 'failed' {
  return value.state !== 'completed' && task?.state === 'finish-failure' ? 'failed' : value.state;
}

export function createUserImportService(deps: UserImportDeps) {
  const now = deps.now ?? (() => new Date());
  const concurrency = Math.max(1, deps.concurrency ?? DEFAULT_IMPORT_CONCURRENCY);

  const plan = (customerId: string, text: string, options?: ImportPlanOptions) =>
    planImport({ directory: deps.directory, execution: deps.execution }, customerId, text, options);

  async function find(customerId: string, importId: string): Promise<UserImport> {
    const found = await deps.store.get(customerId, importId);
    if (!found) throw domainErrors.notFound(`No user import ${importId} for customer ${customerId}.`);
    return found;
  }

  /** Starts the import's one task (the engine's idempotency key makes a second start the same task). */
  async function withTask(value: UserImport): Promise<UserImport> {
    if (value.taskId) return value;
    const task = await deps.taskEngine.start({
      type: USER_IMPORT_TASK_TYPE,
      customerId: value.customerId,
      input: { customerId: value.customerId, importId: value.id, initiatedBy: value.createdBy },
      idempotencyKey: `user-import:${value.id}`,
    });
    return deps.store.update(value.customerId, value.id, (current) => ({ ...current, taskId: task.id }));
  }

  return {
    /** Validates the file and says what it would change; nothing is stored or queued. */
    dryRun: plan,

    /** Validates the file, stores it and queues its one task; the invalid rows are failed from the start. */
    async start(
      customerId: string,
      text: string,
      createdBy: string,
      options?: ImportPlanOptions & {
        /**
         * The import's id, given by a caller that must not queue the same work twice (the lifecycle pass, resumed
         * after a crash): an import stored under it already is the answer, and its task is started if it was not.
         */
        readonly importId?: string;
      },
    ): Promise<{ readonly value: UserImport; readonly plan: ImportPlan | null }> {
      if (options?.importId) {
        const existing = await deps.store.get(customerId, options.importId);
        if (existing) return { value: await withTask(existing), plan: null };
      }
      const planned = await plan(customerId, text, options);
      const chunks = chunked(planned.rows);
      const count = (status: string) => planned.rows.filter((r) => r.status === status).length;
      const value: UserImport = {
        id: options?.importId ?? randomUUID(),
        customerId,
        createdAt: now().toISOString(),
        createdBy,
        taskId: null,
        state: 'queued',
        completedAt: null,
        header: planned.header,
        chunks: chunks.length,
        rowsTotal: planned.rows.length,
        rowsToChange: count('change'),
        rowsUnchanged: count('unchanged'),
        rowsInvalid: count('invalid'),
        rowsApplied: 0,
        rowsFailed: count('invalid'),
        errors: planned.errors,
        errorCount: planned.errorCount,
        validationErrorCount: planned.errorCount,
      };
      await deps.store.create(value, chunks);
      try {
        return { value: await withTask(value), plan: planned };
      } catch (error) {
        // An import no task will ever apply must not show as queued; one the caller named is kept, to be resumed.
        if (!options?.importId) await deps.store.remove(customerId, value.id).catch(() => undefined);
        throw error;
      }
    },

    /** The import stored under `importId` with its task started, or null when there is none (see `start`). */
    async resume(customerId: string, importId: string): Promise<UserImport | null> {
      const existing = await deps.store.get(customerId, importId);
      return existing ? withTask(existing) : null;
    },

    /** The rows validation refused, with their problems (the rows the task never sends). */
    async invalidRows(customerId: string, importId: string): Promise<PlannedRow[]> {
      const value = await find(customerId, importId);
      const rows: PlannedRow[] = [];
      for (let chunk = 0; chunk < value.chunks; chunk++) {
        for (const r of await deps.store.chunk(customerId, importId, chunk)) {
          if (r.status === 'invalid') rows.push(r);
        }
      }
      return rows;
    },

    async get(customerId: string, importId: string) {
      const value = await find(customerId, importId);
      const task = value.taskId ? await deps.taskEngine.get(value.taskId) : null;
      return { value, task };
    },

    /** The imports with their tasks; a finished import's task is not read (its state no longer depends on it). */
    async list(customerId: string): Promise<Array<{ value: UserImport; task: TaskRecord | null }>> {
      return Promise.all(
        (await deps.store.list(customerId)).map(async (value) => ({
          value,
          task: value.state !== 'completed' && value.taskId ? await deps.taskEngine.get(value.taskId) : null,
        })),
      );
    },

    /** The input rows with an Error column: the validation's problem or the tenant's refusal, empty when done. */
    async resultCsv(customerId: string, importId: string): Promise<string> {
      const value = await find(customerId, importId);
      const outcomes = new Map<number, string | null>();
      for (const outcome of await deps.store.outcomes(customerId, importId)) {
        for (const r of outcome.rows) outcomes.set(r.row, r.error);
      }
      const rows = [];
      for (let chunk = 0; chunk < value.chunks; chunk++) {
        for (const r of await deps.store.chunk(customerId, importId, chunk)) {
          const pending = r.status === 'change' && !outcomes.has(r.row);
          rows.push({
            cells: r.cells,
            error: r.error ?? outcomes.get(r.row) ?? (pending ? 'Not applied yet.' : null),
          });
        }
      }
      return resultCsv(value.header, rows);
    },

    /**
     * The task's work: the rows of the chunks without an outcome, applied `concurrency` at a time across chunk
     * boundaries (a number takes seconds in Teams: one row after the other would take hours for 10,000). A chunk's
     * outcome is stored once all its rows are done, then the import's counters; chunks may finish out of order.
     * A crash loses the chunks in hand, whose rows the idempotent engine applies once when they are sent again.
     */
    async apply(run: {
      readonly customerId: string;
      readonly importId: string;
      readonly initiatedBy: string;
      readonly taskId: string;
      readonly signal: AbortSignal;
      readonly log: (line: string) => void;
      readonly checkpoint: (outcome: ChunkOutcome) => Promise<void>;
    }): Promise<UserImport> {
      const { customerId, importId } = run;
      const value = await deps.store.get(customerId, importId);
      if (!value) throw new PermanentTaskError(`User import ${importId} is gone.`);
      const done = new Map((await deps.store.outcomes(customerId, importId)).map((o) => [o.chunk, o]));
      const progress = (current: UserImport): UserImport => {
        const sent = [...done.values()].flatMap((o) => o.rows);
        const refused = sent.filter((r) => r.error !== null);
        const errors = [
          ...current.errors.filter((e) => e.code !== 'apply_failed'),
          ...refused
            .sort((a, b) => a.row - b.row)
            .map((r): RowError => ({
              row: r.row,
              column: null,
              code: 'apply_failed',
              message: r.error ?? '',
            })),
        ];
        return {
          ...current,
          state: 'running',
          rowsApplied: sent.length - refused.length,
          rowsFailed: current.rowsInvalid + refused.length,
          errors: errors.slice(0, IMPORT_LIMITS.reportedErrors),
          errorCount: current.validationErrorCount + refused.length,
        };
      };
      await deps.store.update(customerId, importId, progress);

      // Outcomes are stored one after the other, in the order their chunks finish.
      let recording: Promise<void> = Promise.resolve();
      const record = (outcome: ChunkOutcome) => {
        recording = recording.then(async () => {
          await deps.store.putOutcome(customerId, importId, outcome);
          done.set(outcome.chunk, outcome);
          await deps.store.update(customerId, importId, progress);
          await run.checkpoint(outcome);
        });
        return recording;
      };

      /** The rows to send, chunk by chunk, each chunk read when the rows before it are all under way. */
      const chunks = value.chunks;
      async function* pending(): AsyncGenerator<{ chunk: PendingChunk; index: number; row: PlannedRow }> {
        for (let chunk = 0; chunk < chunks; chunk++) {
          if (done.has(chunk)) continue;
          const rows = (await deps.store.chunk(customerId, importId, chunk)).filter(
            (r) => r.status === 'change' && r.userId !== null,
          );
          const entry: PendingChunk = { chunk, results: new Array(rows.length), left: rows.length };
          if (rows.length === 0) {
            await record({ chunk, rows: [] });
            continue;
          }
          for (const [index, row] of rows.entries()) yield { chunk: entry, index, row };
        }
      }

      const rows = pending();
      let failure: unknown;
      let pausedUntil = 0;
      const worker = async () => {
        for (;;) {
          if (failure !== undefined) return;
          if (run.signal.aborted) {
            failure ??= new TransientTaskError('The task was taken over; the new holder goes on.');
            return;
          }
          try {
            // The generator is shared: each `next` hands one row to one worker.
            const next = await rows.next();
            if (next.done) return;
            const { chunk, index, row } = next.value;
            chunk.results[index] = { row: row.row, error: await applyRow(row.userId ?? '', row.changes) };
            // Stored behind the worker's back: it goes on with the next row meanwhile.
            if (--chunk.left === 0) {
              record({ chunk: chunk.chunk, rows: chunk.results }).catch((error: unknown) => {
                failure ??= error;
              });
            }
          } catch (error) {
            failure ??= error;
            return;
          }
        }
      };
      // A failure stops new rows; the rows under way end before the task gives up, so no two runs overlap.
      await Promise.all(Array.from({ length: concurrency }, worker));
      await recording.catch(() => undefined);
      if (failure !== undefined) throw failure;

      const finished = await deps.store.update(customerId, importId, (current) => ({
        ...progress(current),
        state: 'completed',
        completedAt: now().toISOString(),
      }));
      run.log(
        `${finished.rowsApplied} row(s) applied, ${finished.rowsUnchanged} unchanged, ${finished.rowsFailed} failed.`,
      );
      return finished;

      /**
       * A row's changes, retried a few times through throttling; a refusal is the row's error, not the task's.
       * Throttling met by one row holds back every row not yet sent until its Retry-After, so that the rows in
       * flight do not all come back at once.
       */
      async function applyRow(userId: string, changes: readonly UserChange[]): Promise<string | null> {
        for (let attempt = 1; ; attempt++) {
          const wait = pausedUntil - Date.now();
          if (wait > 0) await sleep(wait + Math.random() * JITTER_MS);
          try {
            await deps.execution.applyToUser({
              customerId,
              userId,
              changes,
              initiatedBy: run.initiatedBy,
              taskId: run.taskId,
            });
            return null;
          } catch (error) {
            if (error instanceof TransientTaskError && attempt < ROW_TRIES) {
              const backOff = Math.min(error.retryAfterMs ?? 1000 * attempt, 30_000);
              if (error.retryAfterMs !== undefined) {
                pausedUntil = Math.max(pausedUntil, Date.now() + backOff);
              }
              await sleep(backOff + Math.random() * JITTER_MS);
              continue;
            }
            if (error instanceof PermanentTaskError) return error.message;
            // An outage or a row changed meanwhile is the task's to retry, as the engine classifies them.
            if (
              error instanceof DomainError &&
              error.kind !== 'transient' &&
              error.kind !== 'version_mismatch'
            )
              return error.detail ?? error.title;
            throw error;
          }
        }
      }
    },
  };
}

interface PendingChunk {
  readonly chunk: number;
  readonly results: Array<ChunkOutcome['rows'][number]>;
  left: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Throttling met by one row is waited out this many times before the task's own retry takes over. */
const ROW_TRIES = 3;

/** Spread over the rows that waited for the same Retry-After. */
const JITTER_MS = 250;

/**
 * Rows under way at once. A number assignment is a long-running operation of a few seconds in Teams: by Little's
 * law, 50 rows a second at about 4 s a row needs some 200 in flight (docs/decisions.md).
 */
export const DEFAULT_IMPORT_CONCURRENCY = 256;

export type UserImportService = ReturnType<typeof createUserImportService>;
