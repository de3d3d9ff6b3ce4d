import type { EmailMessage } from './email-message.js';

/** `sending` is a claim: one delivery holds it until `leaseUntil`, so that a duplicate message sends nothing. */
export type OutboxStatus = 'pending' | 'sending' | 'sent';

/** One email of the outbox: what to send and how its delivery went. No secrets: settings are read at send time. */
export interface OutboxRecord {
  readonly emailId: string;
  readonly message: EmailMessage;
  readonly status: OutboxStatus;
  /** Delivery attempts so far, failed ones included; counted when an attempt starts. */
  readonly attempts: number;
  readonly createdAt: string;
  /** When the next attempt is due; while claimed, when the claim runs out. The timer looks for overdue ones. */
  readonly nextAttemptAt: string;
  readonly leaseUntil: string | null;
  readonly lastAttemptAt: string | null;
  readonly lastError: string | null;
  readonly sentAt: string | null;
}

export interface VersionedOutboxRecord {
  readonly record: OutboxRecord;
  readonly etag: string;
}

export interface OutboxStore {
  create(record: OutboxRecord): Promise<void>;
  get(emailId: string): Promise<VersionedOutboxRecord | null>;
  /**
   * Replaces the record if it is still at `etag`, else VersionConflictError (another delivery claimed, or finished,
   * the same email); returns the new ETag.
   */
  replace(record: OutboxRecord, etag: string): Promise<string>;
  /** Every record whose id is given, from one query. */
  getMany(emailIds: ReadonlySet<string>): Promise<OutboxRecord[]>;
  /** Records not sent whose `nextAttemptAt` is before `before`, at most `limit`. */
  listOverdue(before: string, limit: number): Promise<VersionedOutboxRecord[]>;
}
