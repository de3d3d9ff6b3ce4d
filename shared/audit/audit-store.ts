import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { packText, unpackText } from '../replication/table-text.js';
import type { Tables } from '../storage/versioned-table.js';

export const AUDIT_TABLE = 'audit';
/** Operations about no one customer (settings, templates, channels) are kept under this partition. */
export const PROVIDER_PARTITION = '~provider';

export const auditEntrySchema = z
  .object({
    id: z.string(),
    at: z.iso.datetime(),
    who: z.object({ subject: z.string(), name: z.string().nullable(), roles: z.array(z.string()) }),
    operation: z.string().meta({ description: 'The API operation, e.g. customers-update.' }),
    method: z.string(),
    path: z.string(),
    customerId: z.string().nullable(),
    status: z.number().int(),
    /** What the call asked to set (the body), secrets masked. */
    request: z.unknown(),
    /** The fields that changed, when the operation knows them: `{ field: { before, after } }`, secrets masked. */
    changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })).nullable(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.output<typeof auditEntrySchema>;

export interface AuditStore {
  record(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first. */
  list(
    customerId: string | null,
    options: {
      readonly top: number;
      readonly after?: string;
      /** Only entries after this time: a customer's history starts after its Short Name's last release. */
      readonly since?: string | null;
      /** Only entries up to this time: a removed customer's history ends with its removal. */
      readonly until?: string;
    },
  ): Promise<{
    readonly entries: AuditEntry[];
    readonly next: string | null;
  }>;
}

type AuditEntity = { partitionKey: string; rowKey: string } & Record<string, unknown>;

/** Newest first by row key: the time inverted, then randomness for entries of the same millisecond. */
const timeKeyOf = (at: string) => String(9_999_999_999_999 - Date.parse(at)).padStart(13, '0');
const rowKeyOf = (at: string) => `${timeKeyOf(at)}-${randomBytes(6).toString('hex')}`;

export function createAuditStore(tables: Tables): AuditStore {
  const table = tables.table<AuditEntity>(AUDIT_TABLE);
  const partitionOf = (customerId: string | null) =>
    customerId ? customerId.toLowerCase() : PROVIDER_PARTITION;
  return {
    async record(entry) {
      const rowKey = rowKeyOf(entry.at);
      await table.insert({
        partitionKey: partitionOf(entry.customerId),
        rowKey,
        ...packText(JSON.stringify({ ...entry, id: rowKey })),
      });
    },
    async list(customerId, { top, after, since, until }) {
      const entries: AuditEntry[] = [];
      let next: string | null = null;
      // Newest first: entries of the same millisecond as `since` sort after its time key, those of `until`'s after it.
      const from = until !== undefined && timeKeyOf(until) > (after ?? '') ? timeKeyOf(until) : (after ?? '');
      for await (const { value } of table.list({
        partitionKey: partitionOf(customerId),
        rowKey: { gt: from, ...(since ? { lt: timeKeyOf(since) } : {}) },
      })) {
        if (entries.length === top) {
          next = entries[entries.length - 1]?.id ?? null;
          break;
        }
        entries.push(JSON.parse(unpackText(value)) as AuditEntry);
      }
      return { entries, next };
    },
  };
}
