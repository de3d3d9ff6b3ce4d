import { azureTables } from '../storage/azure-tables.js';
import type { Tables } from '../storage/versioned-table.js';
import {
  type OutboxRecord,
  type OutboxStatus,
  type OutboxStore,
  type VersionedOutboxRecord,
} from './outbox-store.js';

export const EMAIL_OUTBOX_TABLE = 'emailoutbox';
/** Emails are few (invitations, reminders): one partition keeps the timer's overdue query a single scan. */
const PARTITION = 'email';
const STATUSES: readonly OutboxStatus[] = ['pending', 'sending', 'sent'];

interface OutboxEntity {
  partitionKey: string;
  rowKey: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  status: string;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string;
  leaseUntil?: string;
  lastAttemptAt?: string;
  lastError?: string;
  sentAt?: string;
}

export function createTableOutboxStore(connectionString: string): OutboxStore {
  return createOutboxStore(azureTables(connectionString));
}

export function createOutboxStore(tables: Tables): OutboxStore {
  const table = tables.table<OutboxEntity>(EMAIL_OUTBOX_TABLE);
  return {
    async create(record) {
      await table.insert(toEntity(record));
    },

    async get(emailId) {
      const found = await table.get(PARTITION, emailId);
      return found ? { record: toRecord(found.value), etag: found.etag } : null;
    },

    replace: (record, etag) => table.replace(toEntity(record), etag),

    async getMany(emailIds) {
      const found: OutboxRecord[] = [];
      if (emailIds.size === 0) return found;
      const sorted = [...emailIds].sort();
      // Emails are few (see PARTITION): one range scan over the ids wanted beats a read per email.
      for await (const { value } of table.list({
        partitionKey: PARTITION,
        rowKey: { ge: sorted[0] ?? '', le: sorted[sorted.length - 1] ?? '' },
      })) {
        if (emailIds.has(value.rowKey)) found.push(toRecord(value));
      }
      return found;
    },

    async listOverdue(before, limit) {
      const found: VersionedOutboxRecord[] = [];
      const rows = table.list({
        partitionKey: PARTITION,
        where: [
          ['status', 'ne', 'sent'],
          ['nextAttemptAt', 'lt', before],
        ],
      });
      for await (const { value, etag } of rows) {
        found.push({ record: toRecord(value), etag });
        if (found.length >= limit) break;
      }
      return found;
    },
  };
}

function toEntity(record: OutboxRecord): OutboxEntity {
  // Null fields are left out: Replace drops what the entity no longer carries.
  return {
    partitionKey: PARTITION,
    rowKey: record.emailId,
    to: record.message.to,
    subject: record.message.subject,
    text: record.message.text,
    html: record.message.html,
    status: record.status,
    attempts: record.attempts,
    createdAt: record.createdAt,
    nextAttemptAt: record.nextAttemptAt,
    ...(record.leaseUntil !== null ? { leaseUntil: record.leaseUntil } : {}),
    ...(record.lastAttemptAt !== null ? { lastAttemptAt: record.lastAttemptAt } : {}),
    ...(record.lastError !== null ? { lastError: record.lastError } : {}),
    ...(record.sentAt !== null ? { sentAt: record.sentAt } : {}),
  };
}

function toRecord(entity: OutboxEntity): OutboxRecord {
  const status = STATUSES.find((s) => s === entity.status);
  if (!status) throw new Error(`Email ${entity.rowKey} has an unknown status '${entity.status}'.`);
  return {
    emailId: entity.rowKey,
    message: { to: entity.to, subject: entity.subject, text: entity.text, html: entity.html },
    status,
    attempts: entity.attempts,
    createdAt: entity.createdAt,
    nextAttemptAt: entity.nextAttemptAt,
    leaseUntil: entity.leaseUntil ?? null,
    lastAttemptAt: entity.lastAttemptAt ?? null,
    lastError: entity.lastError ?? null,
    sentAt: entity.sentAt ?? null,
  };
}
