import { packText, unpackText } from '../replication/table-text.js';
import { lazyTable, restStatus } from '../storage/table-client.js';
import type { DeviceRule } from './dialplan-diff.js';

export const PREFIX_CACHE_TABLE = 'dialplancache';

/** A customer's rules as one SBC last showed them ("Prefixes shown below are from cache."). */
export interface CachedPrefixes {
  readonly customerId: string;
  readonly sbcId: string;
  readonly rules: readonly DeviceRule[];
  readonly cachedAt: string;
}

export interface PrefixCacheStore {
  list(customerId: string): Promise<CachedPrefixes[]>;
  put(entry: CachedPrefixes): Promise<void>;
  /** Idempotent. */
  remove(customerId: string, sbcId: string): Promise<void>;
}

type CacheEntity = { partitionKey: string; rowKey: string; cachedAt: string } & Record<string, string>;

/** One partition per customer, one row per SBC; the rules as JSON over `d0…` (5,000 prefixes fit an entity). */
export function createTablePrefixCacheStore(connectionString: string): PrefixCacheStore {
  const table = lazyTable(connectionString, PREFIX_CACHE_TABLE);
  const partition = (customerId: string) => customerId.toLowerCase();
  return {
    async list(customerId) {
      const client = await table();
      const filter = `PartitionKey eq '${partition(customerId).replace(/'/g, "''")}'`;
      const entries: CachedPrefixes[] = [];
      for await (const entity of client.listEntities<CacheEntity>({ queryOptions: { filter } })) {
        entries.push({
          customerId,
          sbcId: entity.rowKey,
          rules: JSON.parse(unpackText(entity)) as DeviceRule[],
          cachedAt: entity.cachedAt,
        });
      }
      return entries;
    },

    async put(entry) {
      const client = await table();
      await client.upsertEntity(
        {
          partitionKey: partition(entry.customerId),
          rowKey: entry.sbcId,
          cachedAt: entry.cachedAt,
          ...packText(JSON.stringify(entry.rules)),
        },
        'Replace',
      );
    },

    async remove(customerId, sbcId) {
      const client = await table();
      try {
        await client.deleteEntity(partition(customerId), sbcId);
      } catch (error) {
        if (restStatus(error) !== 404) throw error;
      }
    },
  };
}
