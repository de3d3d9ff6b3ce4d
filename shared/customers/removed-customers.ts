import { z } from 'zod';
import type { Tables } from '../storage/versioned-table.js';
import { shortNameKey } from './short-name.js';

export const REMOVED_CUSTOMERS_TABLE = 'removedcustomers';
/** Every removal, newest first: the provider's list. */
const ALL_PARTITION = 'removed';
/** The removals of one Short Name, newest first: what its live customer's history starts after. */
const namePartition = (shortName: string) => `name~${shortNameKey(shortName)}`;
/** Inverted milliseconds, then the uid: newest first, unique. */
const rowKeyOf = (removedAt: string, uid: string) =>
  `${String(9_999_999_999_999 - Date.parse(removedAt)).padStart(13, '0')}~${uid}`;
export const REMOVED_CUSTOMER_KEY = /^\d{13}~[0-9a-f-]{36}$/;

export const removedCustomerSchema = z
  .object({
    uid: z.uuid().meta({ description: 'The removed customer’s immutable id.' }),
    shortName: z.string(),
    fullName: z.string(),
    createdAt: z.iso.datetime(),
    removedAt: z.iso.datetime(),
  })
  .meta({ id: 'RemovedCustomer' });
export type RemovedCustomer = z.output<typeof removedCustomerSchema>;

type Row = RemovedCustomer & { partitionKey: string; rowKey: string };

/**
 * Customers removed, for the provider: the task history and audit a removed customer leaves under its Short Name
 * stay the provider's to read, and the name's next customer sees only what was written after the name's last
 * release (docs/decisions.md, 69).
 */
export interface RemovedCustomers {
  /** Records the removal; idempotent by uid (a re-run keeps the first removedAt). */
  record(customer: Omit<RemovedCustomer, 'removedAt'>, removedAt: string): Promise<RemovedCustomer>;
  /** When the Short Name was last released; null when no customer of it was ever removed. */
  releasedAt(shortName: string): Promise<string | null>;
  /** The removal with, as `since`, when its Short Name was released before it was created (null: never). */
  get(uid: string): Promise<(RemovedCustomer & { readonly since: string | null }) | null>;
  /** Newest first, after the key of the previous page's last. */
  page(options: { readonly top: number; readonly after?: string }): Promise<{
    readonly items: RemovedCustomer[];
    readonly nextKey: string | null;
  }>;
}

export function createRemovedCustomers(tables: Tables): RemovedCustomers {
  const table = tables.table<Row>(REMOVED_CUSTOMERS_TABLE);
  const plain = ({ uid, shortName, fullName, createdAt, removedAt }: Row): RemovedCustomer => ({
    uid,
    shortName,
    fullName,
    createdAt,
    removedAt,
  });

  async function ofName(shortName: string): Promise<RemovedCustomer[]> {
    const found: RemovedCustomer[] = [];
    for await (const { value } of table.list({ partitionKey: namePartition(shortName) }))
      found.push(plain(value));
    return found;
  }

  return {
    async record(customer, removedAt) {
      const existing = (await ofName(customer.shortName)).find((r) => r.uid === customer.uid);
      const removed = existing ?? { ...customer, removedAt };
      const rowKey = rowKeyOf(removed.removedAt, removed.uid);
      // The name's row first: it is what hides the history from the name's next customer.
      await table.upsert({ partitionKey: namePartition(removed.shortName), rowKey, ...removed });
      await table.upsert({ partitionKey: ALL_PARTITION, rowKey, ...removed });
      return removed;
    },

    async releasedAt(shortName) {
      for await (const { value } of table.list({ partitionKey: namePartition(shortName) }))
        return value.removedAt;
      return null;
    },

    async get(uid) {
      let found: RemovedCustomer | null = null;
      for await (const { value } of table.list({
        partitionKey: ALL_PARTITION,
        where: [['uid', 'eq', uid]],
      })) {
        found = plain(value);
      }
      if (!found) return null;
      const removedAt = found.removedAt;
      const before = (await ofName(found.shortName)).find((r) => r.removedAt < removedAt);
      return { ...found, since: before?.removedAt ?? null };
    },

    async page({ top, after }) {
      const items: RemovedCustomer[] = [];
      let last = '';
      for await (const { value } of table.list({
        partitionKey: ALL_PARTITION,
        rowKey: { gt: after ?? '' },
      })) {
        if (items.length === top) return { items, nextKey: last };
        items.push(plain(value));
        last = value.rowKey;
      }
      return { items, nextKey: null };
    },
  };
}
