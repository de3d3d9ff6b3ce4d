import { VersionConflictError } from '../errors/domain-errors.js';
import type { Tables, TableRow } from '../storage/versioned-table.js';
import { deleteListed, withOptimisticRetry } from '../storage/versioned-table.js';
import { shortNameKey } from '../customers/short-name.js';
import type { PlannedRow, RowError } from './bulk-import.js';

export const USER_IMPORTS_TABLE = 'userimports';

/**
 * Where an import lives while its task applies it: the import's row (its counters, what the GET shows), its rows in
 * chunks, and one outcome row per applied chunk. The outcome is written once, after the chunk: a task that resumes
 * after a crash skips every chunk with an outcome, so a finished chunk is never sent again.
 */

export type ImportState = 'queued' | 'running' | 'completed';

export interface UserImport {
  readonly id: string;
  readonly customerId: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly taskId: string | null;
  readonly state: ImportState;
  readonly completedAt: string | null;
  readonly header: readonly string[];
  readonly chunks: number;
  readonly rowsTotal: number;
  /** Rows that change something; the others are unchanged or invalid. */
  readonly rowsToChange: number;
  readonly rowsUnchanged: number;
  readonly rowsInvalid: number;
  /** Rows whose changes are in place (applied now or already), of the rows that change something. */
  readonly rowsApplied: number;
  /** Invalid rows and rows the tenant refused. */
  readonly rowsFailed: number;
  /** The first reported problems (validation, then application), at most IMPORT_LIMITS.reportedErrors. */
  readonly errors: readonly RowError[];
  readonly errorCount: number;
  /** The validation's share of errorCount; the rest are the tenant's refusals. */
  readonly validationErrorCount: number;
}

/** A chunk's outcome: each row that was sent, with the tenant's refusal or null when applied. */
export interface ChunkOutcome {
  readonly chunk: number;
  readonly rows: ReadonlyArray<{ readonly row: number; readonly error: string | null }>;
}

interface ImportEntity extends TableRow {
  readonly kind: 'import';
  readonly id: string;
  readonly customerId: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly taskId?: string;
  readonly state: ImportState;
  readonly completedAt?: string;
  readonly header: string;
  readonly chunks: number;
  readonly rowsTotal: number;
  readonly rowsToChange: number;
  readonly rowsUnchanged: number;
  readonly rowsInvalid: number;
  readonly rowsApplied: number;
  readonly rowsFailed: number;
  readonly errors: string;
  readonly errorCount: number;
  readonly validationErrorCount: number;
}

interface ChunkEntity extends TableRow {
  readonly kind: 'chunk' | 'outcome';
  /** JSON: the chunk's PlannedRows, or its outcome's rows. */
  readonly data: string;
}

type Entity = ImportEntity | ChunkEntity;

/** A chunk holds at most this many rows, and at most this much JSON (a Table property holds 32 K characters). */
export const CHUNK_ROWS = 100;
const CHUNK_CHARS = 30_000;

const importKey = (id: string) => `i~${id}`;
const rowsPartition = (customerId: string, id: string) => `${customerId}~${id}`;
const chunkKey = (prefix: 'c' | 'o', chunk: number) => `${prefix}~${String(chunk).padStart(5, '0')}`;

function toImport(entity: ImportEntity): UserImport {
  return {
    id: entity.id,
    customerId: entity.customerId,
    createdAt: entity.createdAt,
    createdBy: entity.createdBy,
    taskId: entity.taskId ?? null,
    state: entity.state,
    completedAt: entity.completedAt ?? null,
    header: JSON.parse(entity.header) as string[],
    chunks: entity.chunks,
    rowsTotal: entity.rowsTotal,
    rowsToChange: entity.rowsToChange,
    rowsUnchanged: entity.rowsUnchanged,
    rowsInvalid: entity.rowsInvalid,
    rowsApplied: entity.rowsApplied,
    rowsFailed: entity.rowsFailed,
    errors: JSON.parse(entity.errors) as RowError[],
    errorCount: entity.errorCount,
    validationErrorCount: entity.validationErrorCount,
  };
}

function toEntity(value: UserImport): ImportEntity {
  return {
    partitionKey: value.customerId,
    rowKey: importKey(value.id),
    kind: 'import',
    id: value.id,
    customerId: value.customerId,
    createdAt: value.createdAt,
    createdBy: value.createdBy,
    ...(value.taskId ? { taskId: value.taskId } : {}),
    state: value.state,
    ...(value.completedAt ? { completedAt: value.completedAt } : {}),
    header: JSON.stringify(value.header),
    chunks: value.chunks,
    rowsTotal: value.rowsTotal,
    rowsToChange: value.rowsToChange,
    rowsUnchanged: value.rowsUnchanged,
    rowsInvalid: value.rowsInvalid,
    rowsApplied: value.rowsApplied,
    rowsFailed: value.rowsFailed,
    errors: JSON.stringify(value.errors),
    errorCount: value.errorCount,
    validationErrorCount: value.validationErrorCount,
  };
}

/** Packs rows into chunks by count and by size, in row order. */
export function chunked(rows: readonly PlannedRow[]): PlannedRow[][] {
  const chunks: PlannedRow[][] = [];
  let current: PlannedRow[] = [];
  let chars = 2;
  for (const row of rows) {
    const size = JSON.stringify(row).length + 1;
    if (current.length > 0 && (current.length === CHUNK_ROWS || chars + size > CHUNK_CHARS)) {
      chunks.push(current);
      current = [];
      chars = 2;
    }
    current.push(row);
    chars += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function createUserImportStore(tables: Tables) {
  const table = tables.table<Entity>(USER_IMPORTS_TABLE);
  return {
    /**
     * The customer's imports and their rows, for its removal; returns the rows deleted. An import's partition is its
     * customer as the caller spelled it: the imports are found by their customer whatever the case.
     */
    async forgetCustomer(customerId: string): Promise<number> {
      const partitions = new Set<string>();
      for await (const { value } of table.list({
        where: [['kind', 'eq', 'import']],
        select: ['customerId'],
      })) {
        const owner = (value as { customerId?: unknown }).customerId;
        if (typeof owner === 'string' && shortNameKey(owner) === shortNameKey(customerId)) {
          partitions.add(value.partitionKey);
          partitions.add(rowsPartition(owner, value.rowKey.slice('i~'.length)));
        }
      }
      let deleted = 0;
      // The rows before the imports: a crash between leaves imports to find again, never rows nobody finds.
      for (const partition of [...partitions].sort((a, b) => b.length - a.length)) {
        deleted += await deleteListed(table, { partitionKey: partition });
      }
      return deleted;
    },

    /** Stores the rows first, then the import: an import that shows is whole. */
    async create(value: UserImport, chunks: readonly (readonly PlannedRow[])[]): Promise<void> {
      const partitionKey = rowsPartition(value.customerId, value.id);
      // 40 chunks of ≤ 30 K characters stay under a transaction's 4 MB, whatever the characters.
      for (let start = 0; start < chunks.length; start += 40) {
        await table.transaction(
          chunks.slice(start, start + 40).map((rows, i) => ({
            kind: 'upsert' as const,
            row: {
              partitionKey,
              rowKey: chunkKey('c', start + i),
              kind: 'chunk',
              data: JSON.stringify(rows),
            },
          })),
        );
      }
      await table.insert(toEntity(value));
    },

    async get(customerId: string, id: string): Promise<UserImport | null> {
      const stored = await table.get(customerId, importKey(id));
      return stored && stored.value.kind === 'import' ? toImport(stored.value) : null;
    },

    async list(customerId: string): Promise<UserImport[]> {
      const result: UserImport[] = [];
      for await (const { value } of table.list({ partitionKey: customerId, rowKey: { prefix: 'i~' } })) {
        if (value.kind === 'import') result.push(toImport(value));
      }
      return result;
    },

    /** Read-modify-write of the import's row (the task's progress, the task id once queued). */
    async update(
      customerId: string,
      id: string,
      change: (current: UserImport) => UserImport,
    ): Promise<UserImport> {
      return withOptimisticRetry(async () => {
        const stored = await table.get(customerId, importKey(id));
        if (!stored || stored.value.kind !== 'import') throw new Error(`User import ${id} is gone.`);
        const next = change(toImport(stored.value));
        await table.replace(toEntity(next), stored.etag);
        return next;
      });
    },

    async remove(customerId: string, id: string): Promise<void> {
      await table.delete(customerId, importKey(id));
    },

    async chunk(customerId: string, id: string, chunk: number): Promise<PlannedRow[]> {
      const stored = await table.get(rowsPartition(customerId, id), chunkKey('c', chunk));
      if (!stored || stored.value.kind !== 'chunk')
        throw new Error(`Chunk ${chunk} of user import ${id} is gone.`);
      return JSON.parse(stored.value.data) as PlannedRow[];
    },

    async outcomes(customerId: string, id: string): Promise<ChunkOutcome[]> {
      const result: ChunkOutcome[] = [];
      for await (const { value } of table.list({
        partitionKey: rowsPartition(customerId, id),
        rowKey: { prefix: 'o~' },
      })) {
        if (value.kind !== 'outcome') continue;
        result.push({
          chunk: Number(value.rowKey.slice(2)),
          rows: JSON.parse(value.data) as ChunkOutcome['rows'],
        });
      }
      return result;
    },

    /** Written once: a second writer of the same chunk (a run that lost its lease) keeps the first outcome. */
    async putOutcome(customerId: string, id: string, outcome: ChunkOutcome): Promise<void> {
      try {
        await table.insert({
          partitionKey: rowsPartition(customerId, id),
          rowKey: chunkKey('o', outcome.chunk),
          kind: 'outcome',
          data: JSON.stringify(outcome.rows),
        });
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    },
  };
}

export type UserImportStore = ReturnType<typeof createUserImportStore>;
