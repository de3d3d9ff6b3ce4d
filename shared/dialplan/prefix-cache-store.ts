import { packText, unpackText } from '../replication/table-text.js';
import { deleteListed, type Tables } from '../storage/versioned-table.js';
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
  /** Every SBC's prefixes of the customer, for its removal; returns the rows deleted. */
  forgetCustomer(customerId: string): Promise<number>;
}

type CacheEntity = { partitionKey: string; rowKey: string; cachedAt: string } & Record<string, string>;

/** One partition per customer, one row per SBC; the rules as JSON over `d0…` (5,000 prefixes fit an entity). */
export function createPrefixCacheStore(tables: Tables): PrefixCacheStore {
  const table = tables.table<CacheEntity>(PREFIX_CACHE_TABLE);
  const partition = (customerId: string) => customerId.toLowerCase();
  return {
    async list(customerId) {
      const entries: CachedPrefixes[] = [];
      for await (const { value } of table.list({ partitionKey: partition(customerId) })) {
        entries.push({
          customerId,
          sbcId: value.rowKey,
          rules: JSON.parse(unpackText(value)) as DeviceRule[],
          cachedAt: value.cachedAt,
        });
      }
      return entries;
    },

    async put(entry) {
      await table.upsert({
        partitionKey: partition(entry.customerId),
        rowKey: entry.sbcId,
        cachedAt: entry.cachedAt,
        ...packText(JSON.stringify(entry.rules)),
      });
    },

    async remove(customerId, sbcId) {
      await table.delete(partition(customerId), sbcId);
    },

    forgetCustomer: (customerId) => deleteListed(table, { partitionKey: partition(customerId) }),
  };
}
