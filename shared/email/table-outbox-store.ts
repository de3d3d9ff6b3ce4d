import { odata } from '@azure/data-tables';
import { lazyTable, restStatus } from '../storage/table-client.js';
import {
  OutboxConflictError,
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
  const table = lazyTable(connectionString, EMAIL_OUTBOX_TABLE);
  return {
    async create(record) {
      const client = await table();
      await client.createEntity(toEntity(record));
    },

    async get(emailId) {
      const client = await table();
      try {
        const entity = await client.getEntity<OutboxEntity>(PARTITION, emailId);
        return { record: toRecord(entity), etag: entity.etag };
      } catch (error) {
        if (restStatus(error) === 404) return null;
        throw error;
      }
    },

    async replace(record, etag) {
      const client = await table();
      try {
        const { etag: next } = await client.updateEntity(toEntity(record), 'Replace', { etag });
        // Without it the next write could not be conditional, and a claim would guard nothing.
        if (!next) throw new Error(`Table Storage returned no ETag for email ${record.emailId}.`);
        return next;
      } catch (error) {
        if (restStatus(error) === 412 || restStatus(error) === 404) {
          throw new OutboxConflictError(`Email ${record.emailId} changed meanwhile.`);
        }
        throw error;
      }
    },

    async listOverdue(before, limit) {
      const client = await table();
      const found: VersionedOutboxRecord[] = [];
      const entities = client.listEntities<OutboxEntity>({
        queryOptions: {
          filter: odata`PartitionKey eq ${PARTITION} and status ne 'sent' and nextAttemptAt lt ${before}`,
        },
      });
      for await (const entity of entities) {
        found.push({ record: toRecord(entity), etag: entity.etag });
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
