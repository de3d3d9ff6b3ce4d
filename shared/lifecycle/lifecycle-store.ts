import { packText, unpackText } from '../replication/table-text.js';
import type { Stored, TableRow, Tables } from '../storage/versioned-table.js';
import type { Binding, LeaveAction } from './lifecycle-binding.js';
import { USER_TEMPLATES_TABLE } from './user-template-store.js';

/**
 * Lifecycle Management's rows, in the customer's partition of the templates table (next to the templates they
 * name):
 * - `lc~bindings`: the ranked bindings, one row, so that a reorder or a delete is one ETag-guarded write, and the
 *   bindings deleted while users still hold their template (their leave action is still owed to those users);
 * - `lc~s~{bucket}`: what the passes gave each user, bucketed by user id (64 rows, not one per user: a pass reads
 *   them all, and writes only the buckets whose users changed);
 * - `lc~j` and `lc~j~{n}`: the journal of a pass whose imports are being queued, so that a pass cut short is resumed
 *   (the same imports, under the same ids) instead of computed again.
 */

export const STATE_BUCKETS = 64;

/** A binding deleted while users still held its template: what to do when they are handled as leavers. */
export interface RetiredBinding {
  readonly id: string;
  readonly templateId: number;
  readonly onLeave: LeaveAction;
  readonly quarantineDays: number;
}

/** What a pass did (or, for the preview, would do). */
export interface PassSummary {
  readonly passId: string;
  readonly at: string;
  readonly joined: number;
  readonly changed: number;
  readonly left: number;
  readonly refused: number;
  readonly overrides: number;
  readonly imports: readonly string[];
}

export interface BindingList {
  readonly bindings: readonly Binding[];
  readonly retired: readonly RetiredBinding[];
  readonly lastPass?: PassSummary;
  /**
   * The list's version as the API's ETag: a new one for each change an operator makes, kept by the passes' notes
   * (outcomes, errors), so that a portal holding the list is not refused for a change it did not make. The row's
   * storage ETag guards every write.
   */
  readonly version?: string;
}

/**
 * What a pass gave a user: the binding (`b`), the template (`t`) and the digest of what it enforces (`k`: policies,
 * Enterprise Voice, and the number of a Phone template). Absent `k`: not provisioned (`r`, the reason it was
 * refused; the next pass tries again). `o`: an operator changed the user by hand since, and the pass leaves them be.
 */
export interface UserState {
  readonly b: string;
  readonly t: number;
  readonly k?: string;
  readonly r?: string;
  readonly o?: 1;
}

export type LifecycleState = Map<string, UserState>;

export type BatchKind = 'join' | 'change' | 'leave';

/** One import a pass queues: the template's users of one kind (at most an import's rows). */
export interface PassBatch {
  readonly index: number;
  readonly kind: BatchKind;
  readonly templateId: number;
  readonly importId: string;
  readonly quarantineDays: number;
  /** `key`: the enforced digest the user has once the import took them (null for a leaver). */
  readonly targets: ReadonlyArray<{
    readonly userId: string;
    readonly bindingId: string;
    readonly key: string | null;
  }>;
}

export interface PassJournal {
  readonly passId: string;
  readonly startedAt: string;
  readonly batches: number;
}

type TextRow = TableRow & Readonly<Record<string, unknown>>;

const partitionOf = (customerId: string) => customerId.toLowerCase();
const BINDINGS = 'lc~bindings';
const JOURNAL = 'lc~j';
const bucketKey = (bucket: number) => `lc~s~${bucket.toString(16).padStart(2, '0')}`;
const batchKey = (index: number, part: number) =>
  `lc~j~${String(index).padStart(4, '0')}~${String(part).padStart(3, '0')}`;
/** Targets per journal row: ~50 characters each, so a row stays far below an entity's 1 MiB (UTF-16). */
const TARGETS_PER_ROW = 2000;

/** FNV-1a of the id: a pass places every user of the state (100,000 of them) in its bucket, so cheap counts. */
export function bucketOf(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % STATE_BUCKETS;
}

export function createLifecycleStore(tables: Tables) {
  const table = tables.table<TextRow>(USER_TEMPLATES_TABLE);
  const row = (customerId: string, rowKey: string, value: unknown): TextRow => ({
    partitionKey: partitionOf(customerId),
    rowKey,
    ...packText(JSON.stringify(value)),
  });
  const parsed = <T>(stored: Stored<TextRow>) => JSON.parse(unpackText(stored.value)) as T;

  return {
    async bindings(customerId: string): Promise<Stored<BindingList>> {
      const stored = await table.get(partitionOf(customerId), BINDINGS);
      return stored
        ? { value: parsed<BindingList>(stored), etag: stored.etag }
        : { value: { bindings: [], retired: [] }, etag: '' };
    },

    /** Writes the list if it is still `etag` ('' when there was none); VersionConflictError otherwise. */
    async putBindings(customerId: string, list: BindingList, etag: string): Promise<string> {
      const next = row(customerId, BINDINGS, list);
      return etag === '' ? table.insert(next) : table.replace(next, etag);
    },

    /** Every user a pass gave something, with the bucket each came from. */
    async state(customerId: string): Promise<LifecycleState> {
      const state: LifecycleState = new Map();
      for await (const stored of table.list({
        partitionKey: partitionOf(customerId),
        rowKey: { prefix: 'lc~s~' },
      })) {
        for (const [id, entry] of Object.entries(parsed<Record<string, UserState>>(stored))) {
          state.set(id, entry);
        }
      }
      return state;
    },

    /** One user's entry (one point read: the user's bucket). */
    async userState(customerId: string, userId: string): Promise<UserState | null> {
      const stored = await table.get(partitionOf(customerId), bucketKey(bucketOf(userId)));
      return stored ? (parsed<Record<string, UserState>>(stored)[userId] ?? null) : null;
    },

    /** Rewrites the buckets of `changed` users from `state` (the whole state as it should now be). */
    async putState(customerId: string, state: LifecycleState, changed: Iterable<string>): Promise<void> {
      const buckets = new Set<number>();
      for (const id of changed) buckets.add(bucketOf(id));
      const contents = new Map<number, Record<string, UserState>>([...buckets].map((b) => [b, {}]));
      for (const [id, entry] of state) {
        const bucket = contents.get(bucketOf(id));
        if (bucket) bucket[id] = entry;
      }
      await Promise.all(
        [...contents].map(async ([bucket, users]) => {
          if (Object.keys(users).length === 0) {
            await table.delete(partitionOf(customerId), bucketKey(bucket));
          } else {
            await table.upsert(row(customerId, bucketKey(bucket), users));
          }
        }),
      );
    },

    async journal(customerId: string): Promise<PassJournal | null> {
      const stored = await table.get(partitionOf(customerId), JOURNAL);
      return stored ? parsed<PassJournal>(stored) : null;
    },

    /** The batches first, then the journal row that names them: a journal is never read without its batches. */
    async putJournal(customerId: string, journal: PassJournal, batches: readonly PassBatch[]): Promise<void> {
      for (const { targets, ...batch } of batches) {
        const parts = Math.max(1, Math.ceil(targets.length / TARGETS_PER_ROW));
        for (let part = 0; part < parts; part++) {
          const slice = targets.slice(part * TARGETS_PER_ROW, (part + 1) * TARGETS_PER_ROW);
          await table.upsert(
            row(customerId, batchKey(batch.index, part), { ...batch, parts, targets: slice }),
          );
        }
      }
      await table.upsert(row(customerId, JOURNAL, journal));
    },

    async batches(customerId: string, journal: PassJournal): Promise<PassBatch[]> {
      const found: PassBatch[] = [];
      for (let index = 0; index < journal.batches; index++) {
        let batch: PassBatch | null = null;
        const targets: PassBatch['targets'][number][] = [];
        for (let part = 0, parts = 1; part < parts; part++) {
          const stored = await table.get(partitionOf(customerId), batchKey(index, part));
          if (!stored) break;
          const value = parsed<PassBatch & { parts: number }>(stored);
          parts = value.parts;
          batch = value;
          targets.push(...value.targets);
        }
        if (batch) found.push({ ...batch, targets });
      }
      return found;
    },

    /** The journal row first: batches left behind by a crash here are overwritten by the next journal's. */
    async clearJournal(customerId: string): Promise<void> {
      await table.delete(partitionOf(customerId), JOURNAL);
      for await (const stored of table.list({
        partitionKey: partitionOf(customerId),
        rowKey: { prefix: 'lc~j~' },
      })) {
        await table.delete(stored.value.partitionKey, stored.value.rowKey);
      }
    },
  };
}

export type LifecycleStore = ReturnType<typeof createLifecycleStore>;
