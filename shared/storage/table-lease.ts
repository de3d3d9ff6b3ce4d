import { lazyTable, restStatus } from './table-client.js';

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
export function createTableLeases(
  connectionString: string,
  tableName: string,
  now: () => number = () => Date.now(),
): TableLeases {
  const table = lazyTable(connectionString, tableName);
  return {
    async acquire(key, holder, seconds) {
      const client = await table();
      const entity: LeaseEntity = {
        partitionKey: PARTITION,
        rowKey: key,
        holder,
        expiresAt: now() + seconds * 1000,
      };
      try {
        const created = await client.createEntity(entity);
        return { key, holder, etag: created.etag ?? '' };
      } catch (error) {
        if (restStatus(error) !== 409) throw error;
      }
      const current = await client.getEntity<LeaseEntity>(PARTITION, key);
      if (current.expiresAt > now() && current.holder !== holder) return null;
      try {
        const updated = await client.updateEntity(entity, 'Replace', { etag: current.etag });
        return { key, holder, etag: updated.etag ?? '' };
      } catch (error) {
        if (restStatus(error) === 412) return null;
        throw error;
      }
    },

    async release(lease) {
      const client = await table();
      try {
        await client.deleteEntity(PARTITION, lease.key, { etag: lease.etag });
      } catch (error) {
        const status = restStatus(error);
        if (status !== 404 && status !== 412) throw error;
      }
    },
  };
}
