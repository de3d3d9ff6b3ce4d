import { VersionConflictError } from '../errors/domain-errors.js';
import type { Tables } from './versioned-table.js';

export interface TableLease {
  readonly key: string;
  readonly holder: string;
  readonly etag: string;
}

export interface TableLeases {
  /** Null while another holder's lease on `key` has not expired; an expired one is taken over. */
  acquire(key: string, holder: string, seconds: number): Promise<TableLease | null>;
  /** Idempotent; a lease taken over by someone else is left alone. */
  release(lease: TableLease): Promise<void>;
}

type LeaseEntity = { partitionKey: string; rowKey: string; holder: string; expiresAt: number };

const PARTITION = 'lease';

/** Mutual exclusion by key across instances, on optimistic concurrency: a crashed holder's lease simply expires. */
export function createLeases(
  tables: Tables,
  tableName: string,
  now: () => number = () => Date.now(),
): TableLeases {
  const table = tables.table<LeaseEntity>(tableName);
  /** Null when another writer got there first. */
  const orNull = async (write: () => Promise<string>): Promise<string | null> => {
    try {
      return await write();
    } catch (error) {
      if (error instanceof VersionConflictError) return null;
      throw error;
    }
  };
  return {
    async acquire(key, holder, seconds) {
      const entity: LeaseEntity = {
        partitionKey: PARTITION,
        rowKey: key,
        holder,
        expiresAt: now() + seconds * 1000,
      };
      const current = await table.get(PARTITION, key);
      if (current && current.value.expiresAt > now() && current.value.holder !== holder) return null;
      const etag = await orNull(() => (current ? table.replace(entity, current.etag) : table.insert(entity)));
      return etag === null ? null : { key, holder, etag };
    },

    async release(lease) {
      await orNull(async () => String(await table.delete(PARTITION, lease.key, lease.etag)));
    },
  };
}
