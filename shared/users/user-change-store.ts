import { z } from 'zod';
import { shortNameKey } from '../customers/short-name.js';
import { packText, unpackText } from '../replication/table-text.js';
import { numberKey } from '../replication/user-index.js';
import { newestFirstKey } from '../tasks/task-record.js';
import { deleteListed, type Tables, withOptimisticRetry } from '../storage/versioned-table.js';
import { USER_POLICY_TYPE_IDS, type UserChange } from './user-change.js';

/**
 * Per customer (partition = the customer's key), the user-change engine's own rows:
 * - `p~{userId}`: the user's change tasks not known to be finished (its Pending changes, and where a debounced
 *   change finds the task to join);
 * - `a~{task, newest first}~{userId}` and `u~{userId}~{task, newest first}`: one audit entry per task and user, twice,
 *   written together in one transaction, so that the customer's list and the user's list are each one range read;
 * - `h~{userId}`: values just applied, which a replication cycle keeps over what Teams still reports for a while;
 * - `n~{number key}~{userId}`: a number queued for the user (a claim), so that the number inventory counts it as held
 *   until the task has run; a claim whose task finished or no longer assigns the number is ignored by its reader.
 */
export const USER_CHANGES_TABLE = 'userchanges';

export const userChangeSchema = z.discriminatedUnion('field', [
  z.strictObject({ field: z.literal('line-uri'), value: z.string().nullable() }),
  z.strictObject({ field: z.literal('enterprise-voice'), value: z.boolean() }),
  z.strictObject({ field: z.literal('usage-location'), value: z.string().nullable() }),
  z.strictObject({
    field: z.literal('policy'),
    policyType: z.enum(USER_POLICY_TYPE_IDS),
    value: z.string().nullable(),
  }),
]);

export const AUDIT_STATUSES = ['executing', 'processed', 'failed'] as const;
export type UserAuditStatus = (typeof AUDIT_STATUSES)[number];
/** The manual's Status column ("Processed"). */
export const AUDIT_STATUS_LABELS: Readonly<Record<UserAuditStatus, string>> = {
  executing: 'Executing',
  processed: 'Processed',
  failed: 'Failed',
};

export type FieldValue = string | boolean | null;

/** A number queued for a user by a change task (`n~` rows). */
export interface NumberClaim {
  readonly userId: string;
  readonly userPrincipalName: string;
  readonly displayName: string | null;
  /** `tel:+<E.164>` with an optional `;ext=…`, as queued. */
  readonly lineUri: string;
  readonly taskId: string;
}

export interface UserAuditField {
  /** `line-uri`, `enterprise-voice`, `usage-location` or `policy:<type>`. */
  readonly field: string;
  /** The manual's Field Name (OnPremLineUri, EnterpriseVoiceEnabled, …). */
  readonly fieldName: string;
  readonly oldValue: FieldValue;
  readonly newValue: FieldValue;
  readonly change: UserChange;
  readonly state: 'pending' | 'applied' | 'failed';
}

export interface UserAuditEntry {
  /** `{taskId}.{userId}`: one entry per task and user. */
  readonly id: string;
  readonly customerId: string;
  readonly userId: string;
  /** The manual's Target (the user's sign-in address). */
  readonly userPrincipalName: string;
  readonly initiatedBy: string;
  readonly taskId: string;
  readonly status: UserAuditStatus;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly error: string | null;
  /** The entry this change rolled back, when it is a rollback. */
  readonly rollbackOf: string | null;
  readonly fields: readonly UserAuditField[];
}

/** A value just applied to a user's field, kept over replication until `until`. */
export interface HeldValue {
  readonly change: UserChange;
  readonly until: string;
}

export type UserHolds = Readonly<Record<string, HeldValue>>;

type Row = { partitionKey: string; rowKey: string } & Record<string, unknown>;

export const AUDIT_ENTRY_ID = /^[0-9A-HJKMNP-TV-Z]{26}\.[0-9a-zA-Z-]{1,64}$/;

export function auditEntryId(taskId: string, userId: string): string {
  return `${taskId}.${userId}`;
}

export function createUserChangeStore(tables: Tables) {
  const table = tables.table<Row>(USER_CHANGES_TABLE);
  const pk = (customerId: string) => shortNameKey(customerId);
  const customerRow = (taskId: string, userId: string) => `a~${newestFirstKey(taskId)}~${userId}`;
  const userRow = (taskId: string, userId: string) => `u~${userId}~${newestFirstKey(taskId)}`;
  /**
   * The `hx` mark each customer is known (by this process) to have at least. Marks only move forward, so a hold that
   * ends before it needs neither a read nor a write of the mark: an import's rows touch it once a minute.
   */
  const knownMarks = new Map<string, number>();

  async function page(
    customerId: string,
    prefix: string,
    top: number,
    after?: string,
  ): Promise<{ entries: UserAuditEntry[]; next: string | null }> {
    const entries: UserAuditEntry[] = [];
    let last: string | null = null;
    for await (const { value } of table.list({
      partitionKey: pk(customerId),
      rowKey: { gt: after && after.startsWith(prefix) ? after : prefix, lt: `${prefix}~` },
    })) {
      if (entries.length === top) return { entries, next: last };
      entries.push(JSON.parse(unpackText(value)) as UserAuditEntry);
      last = value.rowKey;
    }
    return { entries, next: null };
  }

  return {
    /** The customer's users' audit, holds and marks, for its removal; returns the rows deleted. */
    async forgetCustomer(customerId: string): Promise<number> {
      knownMarks.delete(pk(customerId));
      return deleteListed(table, { partitionKey: pk(customerId) });
    },

    /** The user's change tasks not known to be finished, oldest first. */
    async pendingTasks(customerId: string, userId: string): Promise<string[]> {
      const row = await table.get(pk(customerId), `p~${userId}`);
      return row ? (JSON.parse(String(row.value.taskIds ?? '[]')) as string[]) : [];
    },

    /** Rewrites the user's pending task list (`update` gets the current one); an empty list deletes the row. */
    async updatePendingTasks(
      customerId: string,
      userId: string,
      update: (taskIds: string[]) => string[],
    ): Promise<string[]> {
      return withOptimisticRetry(
        async () => {
          const found = await table.get(pk(customerId), `p~${userId}`);
          const current = found ? (JSON.parse(String(found.value.taskIds ?? '[]')) as string[]) : [];
          const next = update(current);
          const row: Row = {
            partitionKey: pk(customerId),
            rowKey: `p~${userId}`,
            taskIds: JSON.stringify(next),
          };
          if (next.length === 0) {
            if (found) await table.delete(row.partitionKey, row.rowKey, found.etag);
          } else if (found) await table.replace(row, found.etag);
          else await table.insert(row);
          return next;
        },
        { attempts: 8, baseDelayMs: 20 },
      );
    },

    async auditEntry(customerId: string, entryId: string): Promise<UserAuditEntry | null> {
      const [taskId, userId] = entryId.split('.', 2) as [string, string];
      const row = await table.get(pk(customerId), customerRow(taskId, userId));
      return row ? (JSON.parse(unpackText(row.value)) as UserAuditEntry) : null;
    },

    /** Writes the entry to both lists at once. */
    async putAuditEntry(entry: UserAuditEntry): Promise<void> {
      const text = packText(JSON.stringify(entry));
      const partitionKey = pk(entry.customerId);
      await table.transaction([
        { kind: 'upsert', row: { partitionKey, rowKey: customerRow(entry.taskId, entry.userId), ...text } },
        { kind: 'upsert', row: { partitionKey, rowKey: userRow(entry.taskId, entry.userId), ...text } },
      ]);
    },

    /** The customer's user-change audit, newest first; `after` is the previous page's `next`. */
    customerAudit: (customerId: string, top: number, after?: string) => page(customerId, 'a~', top, after),

    userAudit: (customerId: string, userId: string, top: number, after?: string) =>
      page(customerId, `u~${userId}~`, top, after),

    /** Records that the user's task queues this number; a later claim of the same user and number replaces it. */
    async claimNumber(customerId: string, claim: NumberClaim): Promise<void> {
      const key = numberKey(claim.lineUri);
      if (key === null) return;
      await table.upsert({
        partitionKey: pk(customerId),
        rowKey: `n~${key}~${claim.userId}`,
        claim: JSON.stringify(claim),
      });
    },

    /** The claims of numbers in [from, to] (E.164, `+` optional, extension ignored), by number. */
    async numberClaimsBetween(customerId: string, from: string, to: string): Promise<NumberClaim[]> {
      const [low, high] = [numberKey(from), numberKey(to)];
      if (low === null || high === null) return [];
      const claims: NumberClaim[] = [];
      for await (const { value } of table.list({
        partitionKey: pk(customerId),
        rowKey: { gt: `n~${low}~`, lt: `n~${high}~~` },
      })) {
        claims.push(JSON.parse(String(value.claim)) as NumberClaim);
      }
      return claims;
    },

    async dropNumberClaim(customerId: string, claim: Pick<NumberClaim, 'userId' | 'lineUri'>): Promise<void> {
      const key = numberKey(claim.lineUri);
      if (key !== null) await table.delete(pk(customerId), `n~${key}~${claim.userId}`);
    },

    async holds(customerId: string, userId: string): Promise<UserHolds> {
      const row = await table.get(pk(customerId), `h~${userId}`);
      return row ? (JSON.parse(unpackText(row.value)) as UserHolds) : {};
    },

    /**
     * Every user's live holds of the customer. One point read (the `hx` mark: when the last hold ends) when none is
     * live, which is nearly always; expired rows met on the way are removed.
     */
    async allHolds(customerId: string, now: Date): Promise<Map<string, UserHolds>> {
      const holds = new Map<string, UserHolds>();
      const mark = await table.get(pk(customerId), 'hx');
      if (!mark || Date.parse(String(mark.value.until)) <= now.getTime()) return holds;
      const expired: string[] = [];
      for await (const { value } of table.list({
        partitionKey: pk(customerId),
        rowKey: { gt: 'h~', lt: 'h~~' },
      })) {
        const live = Object.entries(JSON.parse(unpackText(value)) as UserHolds).filter(
          ([, held]) => Date.parse(held.until) > now.getTime(),
        );
        if (live.length === 0) expired.push(value.rowKey);
        else holds.set(value.rowKey.slice(2), Object.fromEntries(live));
      }
      for (const rowKey of expired) await table.delete(pk(customerId), rowKey);
      return holds;
    },

    async putHolds(customerId: string, userId: string, holds: UserHolds): Promise<void> {
      if (Object.keys(holds).length === 0) {
        await table.delete(pk(customerId), `h~${userId}`);
        return;
      }
      await table.upsert({
        partitionKey: pk(customerId),
        rowKey: `h~${userId}`,
        ...packText(JSON.stringify(holds)),
      });
      // Rounded up to the minute, so that the holds of the next minute fall under the same mark.
      const until =
        Math.ceil(Math.max(...Object.values(holds).map((held) => Date.parse(held.until))) / 60_000) * 60_000;
      if ((knownMarks.get(customerId) ?? 0) >= until) return;
      const mark = await table.get(pk(customerId), 'hx');
      const marked = mark ? Date.parse(String(mark.value.until)) : 0;
      if (marked >= until) {
        knownMarks.set(customerId, marked);
        return;
      }
      await table.upsert({
        partitionKey: pk(customerId),
        rowKey: 'hx',
        until: new Date(until).toISOString(),
      });
      knownMarks.set(customerId, until);
    },
  };
}

export type UserChangeStore = ReturnType<typeof createUserChangeStore>;
