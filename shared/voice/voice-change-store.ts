import { createHash } from 'node:crypto';
import { z } from 'zod';
import { shortNameKey } from '../customers/short-name.js';
import { packText, unpackText } from '../replication/table-text.js';
import { deleteListed, type Tables } from '../storage/versioned-table.js';
import { newestFirstKey } from '../tasks/task-record.js';
import { VOICE_KINDS, type VoiceKind, type VoiceObjectChange, type VoiceState } from './voice-change.js';

/**
 * The voice audit (issue 13): one entry per queued voice change, per customer (partition = the customer's key,
 * row = `a~{task, newest first}`), with each object's state before and after, so that the audit shows old and new
 * per property and a rollback queues the inverse. The user-change audit keeps users' entries; the API-call audit
 * (shared/audit) records who called what.
 *
 * Beside it, the desired state (rows `d~{kind}~{name}`): per object the product changed, the state its last applied
 * change left (null: it removed the object). Drift compares Teams with it; reconcile restores it.
 */
export const VOICE_CHANGES_TABLE = 'voicechanges';

export const normalizationRuleSchema = z.strictObject({
  name: z.string(),
  pattern: z.string(),
  translation: z.string(),
  isInternalExtension: z.boolean(),
  description: z.string(),
});
/** One of an emergency call routing policy's numbers (New-CsTeamsEmergencyNumber). */
export const emergencyNumberSchema = z.strictObject({
  emergencyDialString: z.string(),
  emergencyDialMask: z.string(),
  onlinePstnUsage: z.string(),
});
export const voiceValueSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.string()),
  z.array(normalizationRuleSchema),
  z.array(emergencyNumberSchema),
]);
const voiceState = z.record(z.string(), voiceValueSchema);

export const voiceObjectChangeSchema = z.strictObject({
  kind: z.enum(VOICE_KINDS),
  identity: z.string().min(1).max(256),
  before: voiceState.nullable(),
  after: voiceState.nullable(),
});

export const VOICE_AUDIT_STATUSES = ['executing', 'processed', 'failed'] as const;
export type VoiceAuditStatus = (typeof VOICE_AUDIT_STATUSES)[number];

export interface VoiceAuditEntry {
  /** The task's id: one entry per task. */
  readonly id: string;
  readonly customerId: string;
  readonly initiatedBy: string;
  readonly taskId: string;
  readonly status: VoiceAuditStatus;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly error: string | null;
  /** The entry this change rolled back, when it is a rollback. */
  readonly rollbackOf: string | null;
  readonly changes: readonly VoiceObjectChange[];
}

/** What the product last made an object: the state a processed change left, and who and which entry. */
export interface DesiredVoiceObject {
  readonly kind: VoiceKind;
  readonly identity: string;
  /** Null: the product removed it. */
  readonly state: VoiceState | null;
  readonly setBy: string;
  readonly setAt: string;
  /** The voice audit entry that set it; null when an operator adopted what Teams had. */
  readonly entryId: string | null;
}

type Row = { partitionKey: string; rowKey: string } & Record<string, unknown>;

export const VOICE_AUDIT_ENTRY_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function createVoiceChangeStore(tables: Tables) {
  const table = tables.table<Row>(VOICE_CHANGES_TABLE);
  const pk = (customerId: string) => shortNameKey(customerId);
  const rowOf = (taskId: string) => `a~${newestFirstKey(taskId)}`;
  // Names are case-insensitive and may hold characters keys refuse: a hash of the folded name is the key.
  const desiredRow = (kind: VoiceKind, identity: string) =>
    `d~${kind}~${createHash('sha256').update(identity.replace(/^tag:/i, '').toLowerCase()).digest('base64url')}`;
  return {
    /** The voice audit and desired state kept for the customer, for its removal (docs/decisions.md, 69); returns the rows deleted. */
    forgetCustomer: (customerId: string): Promise<number> =>
      deleteListed(table, { partitionKey: pk(customerId) }),

    /** Every object the product holds a desired state for (a tenant's voice objects are hundreds at most). */
    async desired(customerId: string): Promise<DesiredVoiceObject[]> {
      const objects: DesiredVoiceObject[] = [];
      for await (const { value } of table.list({
        partitionKey: pk(customerId),
        rowKey: { gt: 'd~', lt: 'd~~' },
      })) {
        objects.push(JSON.parse(unpackText(value)) as DesiredVoiceObject);
      }
      return objects;
    },

    /** Sets each object's desired state (an upsert per object: a retry writes the same). */
    async putDesired(customerId: string, objects: readonly DesiredVoiceObject[]): Promise<void> {
      for (const object of objects) {
        await table.upsert({
          partitionKey: pk(customerId),
          rowKey: desiredRow(object.kind, object.identity),
          ...packText(JSON.stringify(object)),
        });
      }
    },

    async entry(customerId: string, entryId: string): Promise<VoiceAuditEntry | null> {
      const row = await table.get(pk(customerId), rowOf(entryId));
      return row ? (JSON.parse(unpackText(row.value)) as VoiceAuditEntry) : null;
    },

    async put(entry: VoiceAuditEntry): Promise<void> {
      await table.upsert({
        partitionKey: pk(entry.customerId),
        rowKey: rowOf(entry.taskId),
        ...packText(JSON.stringify(entry)),
      });
    },

    /** Newest first; `after` is the previous page's `next`. */
    async list(
      customerId: string,
      top: number,
      after?: string,
    ): Promise<{ entries: VoiceAuditEntry[]; next: string | null }> {
      const entries: VoiceAuditEntry[] = [];
      let last: string | null = null;
      for await (const { value } of table.list({
        partitionKey: pk(customerId),
        rowKey: { gt: after && after.startsWith('a~') ? after : 'a~', lt: 'a~~' },
      })) {
        if (entries.length === top) return { entries, next: last };
        entries.push(JSON.parse(unpackText(value)) as VoiceAuditEntry);
        last = value.rowKey;
      }
      return { entries, next: null };
    },
  };
}

export type VoiceChangeStore = ReturnType<typeof createVoiceChangeStore>;
