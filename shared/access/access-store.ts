import type { Tables } from '../storage/versioned-table.js';
import type { Grants } from './access-policy.js';

export const ACCESS_TABLE = 'accessgrants';

export interface Channel {
  readonly id: string;
  readonly name: string;
}

export interface CustomerAdmin {
  readonly customerId: string;
  /** The user's object id in the customer's directory (the token's `oid`). */
  readonly userId: string;
  readonly userPrincipalName: string;
  readonly displayName: string | null;
  readonly grantedAt: string;
  readonly grantedBy: string;
}

/** The wizard's "Grant Admin Access to": a user named before replication has found them. */
export interface PendingCustomerAdmin {
  readonly customerId: string;
  readonly userPrincipalName: string;
  readonly requestedAt: string;
  readonly requestedBy: string;
}

export interface AccessStore {
  putChannel(channel: Channel): Promise<void>;
  channels(): Promise<Channel[]>;
  channel(id: string): Promise<Channel | null>;
  grantChannel(channelId: string, subject: string): Promise<void>;
  revokeChannel(channelId: string, subject: string): Promise<void>;
  channelAdmins(channelId: string): Promise<string[]>;
  /** Every channel's admins (by lower-case channel id) in one query: the channels list reads no channel twice. */
  allChannelAdmins(): Promise<Map<string, string[]>>;
  /** null: the provider's own customer. */
  setCustomerChannel(customerId: string, channelId: string | null): Promise<void>;
  customerChannel(customerId: string): Promise<string | null>;
  customersOfChannel(channelId: string): Promise<string[]>;
  grantCustomerAdmin(admin: CustomerAdmin): Promise<void>;
  revokeCustomerAdmin(customerId: string, userId: string): Promise<void>;
  customerAdmins(customerId: string): Promise<CustomerAdmin[]>;
  /** Records a user to make the customer's admin once replication has found them (idempotent per user). */
  requestCustomerAdmin(pending: PendingCustomerAdmin): Promise<void>;
  pendingCustomerAdmins(customerId: string): Promise<PendingCustomerAdmin[]>;
  dropPendingCustomerAdmin(customerId: string, userPrincipalName: string): Promise<void>;
  /** A removed customer's channel and admins: a new customer of the same Short Name inherits nothing. */
  forgetCustomer(customerId: string): Promise<void>;
  /** The caller's channels and administered customers (lower-case ids). */
  grantsOf(subject: string): Promise<Grants>;
}

type Row = { partitionKey: string; rowKey: string } & Record<string, unknown>;

const lower = (value: string) => value.toLowerCase();
// A guest's UPN holds `#EXT#`, and keys refuse `#`.
const upnKey = (upn: string) => encodeURIComponent(upn.toLowerCase());

/**
 * One table, rows both ways: `channels`/{id}; `channel~{id}`/{subject} with `subject~{subject}`/`channel~{id}`;
 * `customer~{id}`/{userId} with `subject~{userId}`/`customer~{id}`; `customerchannel`/{customer} → channelId.
 */
export function createAccessStore(tables: Tables): AccessStore {
  const table = tables.table<Row>(ACCESS_TABLE);

  const get = async (partitionKey: string, rowKey: string): Promise<Row | null> =>
    (await table.get(partitionKey, rowKey))?.value ?? null;

  async function remove(partitionKey: string, rowKey: string): Promise<void> {
    await table.delete(partitionKey, rowKey);
  }

  async function partition(partitionKey: string): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const { value } of table.list({ partitionKey })) rows.push(value);
    return rows;
  }

  async function upsert(row: Row): Promise<void> {
    await table.upsert(row);
  }

  return {
    putChannel: (channel) =>
      upsert({ partitionKey: 'channels', rowKey: lower(channel.id), id: channel.id, name: channel.name }),
    async channels() {
      return (await partition('channels')).map((r) => ({ id: String(r.id), name: String(r.name) }));
    },
    async channel(id) {
      const row = await get('channels', lower(id));
      return row ? { id: String(row.id), name: String(row.name) } : null;
    },
    async grantChannel(channelId, subject) {
      await upsert({ partitionKey: `channel~${lower(channelId)}`, rowKey: subject });
      await upsert({ partitionKey: `subject~${subject}`, rowKey: `channel~${lower(channelId)}` });
    },
    async revokeChannel(channelId, subject) {
      await remove(`subject~${subject}`, `channel~${lower(channelId)}`);
      await remove(`channel~${lower(channelId)}`, subject);
    },
    async channelAdmins(channelId) {
      return (await partition(`channel~${lower(channelId)}`)).map((r) => r.rowKey);
    },
    async allChannelAdmins() {
      const admins = new Map<string, string[]>();
      for await (const { value } of table.list({ partitionKey: { prefix: 'channel~' } })) {
        const id = value.partitionKey.slice('channel~'.length);
        admins.set(id, [...(admins.get(id) ?? []), value.rowKey]);
      }
      return admins;
    },
    async setCustomerChannel(customerId, channelId) {
      if (channelId === null) await remove('customerchannel', lower(customerId));
      else
        await upsert({
          partitionKey: 'customerchannel',
          rowKey: lower(customerId),
          channelId: lower(channelId),
        });
    },
    async customerChannel(customerId) {
      const row = await get('customerchannel', lower(customerId));
      return row ? String(row.channelId) : null;
    },
    async customersOfChannel(channelId) {
      return (await partition('customerchannel'))
        .filter((r) => r.channelId === lower(channelId))
        .map((r) => r.rowKey);
    },
    async grantCustomerAdmin(admin) {
      await upsert({
        partitionKey: `customer~${lower(admin.customerId)}`,
        rowKey: admin.userId,
        customerId: admin.customerId,
        userPrincipalName: admin.userPrincipalName,
        displayName: admin.displayName ?? '',
        grantedAt: admin.grantedAt,
        grantedBy: admin.grantedBy,
      });
      await upsert({
        partitionKey: `subject~${admin.userId}`,
        rowKey: `customer~${lower(admin.customerId)}`,
      });
    },
    async revokeCustomerAdmin(customerId, userId) {
      await remove(`subject~${userId}`, `customer~${lower(customerId)}`);
      await remove(`customer~${lower(customerId)}`, userId);
    },
    async customerAdmins(customerId) {
      return (await partition(`customer~${lower(customerId)}`)).map((r) => ({
        customerId: String(r.customerId),
        userId: r.rowKey,
        userPrincipalName: String(r.userPrincipalName),
        displayName: r.displayName ? String(r.displayName) : null,
        grantedAt: String(r.grantedAt),
        grantedBy: String(r.grantedBy),
      }));
    },
    async requestCustomerAdmin(pending) {
      await upsert({
        partitionKey: `pendingadmin~${lower(pending.customerId)}`,
        rowKey: upnKey(pending.userPrincipalName),
        customerId: pending.customerId,
        userPrincipalName: pending.userPrincipalName,
        requestedAt: pending.requestedAt,
        requestedBy: pending.requestedBy,
      });
    },
    async pendingCustomerAdmins(customerId) {
      return (await partition(`pendingadmin~${lower(customerId)}`)).map((r) => ({
        customerId: String(r.customerId),
        userPrincipalName: String(r.userPrincipalName),
        requestedAt: String(r.requestedAt),
        requestedBy: String(r.requestedBy),
      }));
    },
    async dropPendingCustomerAdmin(customerId, userPrincipalName) {
      await remove(`pendingadmin~${lower(customerId)}`, upnKey(userPrincipalName));
    },
    async forgetCustomer(customerId) {
      for (const pending of await partition(`pendingadmin~${lower(customerId)}`)) {
        await remove(pending.partitionKey, pending.rowKey);
      }
      for (const admin of await partition(`customer~${lower(customerId)}`)) {
        await remove(`subject~${admin.rowKey}`, `customer~${lower(customerId)}`);
        await remove(admin.partitionKey, admin.rowKey);
      }
      await remove('customerchannel', lower(customerId));
    },
    async grantsOf(subject) {
      const channels = new Set<string>();
      const customers = new Set<string>();
      for (const row of await partition(`subject~${subject}`)) {
        if (row.rowKey.startsWith('channel~')) channels.add(row.rowKey.slice('channel~'.length));
        if (row.rowKey.startsWith('customer~')) customers.add(row.rowKey.slice('customer~'.length));
      }
      return { channels, customers };
    },
  };
}
