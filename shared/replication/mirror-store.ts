import { createHash } from 'node:crypto';
import { shortNameKey } from '../customers/short-name.js';
import type { ListOptions, Tables } from '../storage/versioned-table.js';
import { packText, submitGrouped, unpackText } from './table-text.js';

/**
 * The customers' mirrored Microsoft 365 data. Keys keep one customer's rows together and let a full cycle find
 * what it did not see:
 * - users: partition `{customer}~u~{bucket}` (64 buckets by a hash of the id, so that a page of users spreads
 *   over partitions and no partition grows past a few thousand rows), row key = user id;
 * - groups: partition `{customer}~g`, rows `g~{groupId}` and membership chunks `m~{groupId}~{tag}` (a list of
 *   member ids: a group of 75,000 members is a few dozen rows, not 75,000);
 * - Teams voice objects: partition `{customer}~v`, rows `{PolicyName}~{identity, base64url}`;
 * - per-page marks of a full cycle: partition `{customer}~s`, rows `{cycleId}~{page}` with the ids seen.
 * Every row written by a cycle carries its id (`cycle`); a full cycle's sweep removes the rows it did not mark.
 */
export const MIRROR_TABLE = 'replicamirror';

const USER_BUCKETS = 64;

/** A replicated user: the Graph user merged with its Teams user configuration (the manual's Users list). */
export interface MirrorUser {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName: string | null;
  readonly department: string | null;
  readonly usageLocation: string | null;
  readonly businessPhones: readonly string[];
  readonly mobilePhone: string | null;
  readonly accountEnabled: boolean | null;
  readonly accountType: string | null;
  readonly enterpriseVoiceEnabled: boolean;
  /** `tel:+…` of the primary number, the manual's Line Uri; null without a number. */
  readonly lineUri: string | null;
  readonly telephoneNumbers: readonly string[];
  /** Effective policy by type (display names, `Global` for the default). */
  readonly policies: Readonly<Record<string, string>>;
  readonly teamsModifiedAt: string | null;
}

export interface MirrorGroup {
  readonly id: string;
  readonly displayName: string | null;
  readonly description: string | null;
  readonly mailEnabled: boolean | null;
  readonly securityEnabled: boolean | null;
}

/** A Teams configuration object (gateway, usage list, route, policy, dial plan, network object). */
export interface MirrorVoiceObject {
  readonly policyName: string;
  readonly identity: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface MemberChunk {
  readonly rowKey: string;
  readonly members: readonly string[];
}

/** Where a listing continues: the last key it returned. */
export interface MirrorCursor {
  readonly pk: string;
  readonly rk: string;
}

export interface MirrorPage<T> {
  readonly items: T[];
  readonly next: MirrorCursor | null;
}

export function userHash(user: MirrorUser): string {
  return createHash('sha1')
    .update(JSON.stringify(userColumns(user)))
    .digest('hex')
    .slice(0, 16);
}

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

export function createMirrorStoreOn(tables: Tables) {
  const table = tables.table<Entity>(MIRROR_TABLE);
  const ck = (customerId: string) => shortNameKey(customerId);
  const userPartition = (customerId: string, id: string) => {
    const bucket = Number.parseInt(createHash('md5').update(id).digest('hex').slice(0, 4), 16) % USER_BUCKETS;
    return `${ck(customerId)}~u~${bucket.toString(16).padStart(2, '0')}`;
  };
  const usersRange = (customerId: string): ListOptions => ({
    partitionKey: { ge: `${ck(customerId)}~u~`, lt: `${ck(customerId)}~u~~` },
  });
  const groupPartition = (customerId: string) => `${ck(customerId)}~g`;
  const voicePartition = (customerId: string) => `${ck(customerId)}~v`;
  const seenPartition = (customerId: string) => `${ck(customerId)}~s`;
  const userEntity = (customerId: string, user: MirrorUser, cycle: string): Entity => ({
    partitionKey: userPartition(customerId, user.id),
    rowKey: user.id,
    ...definedOnly(userColumns(user)),
    hash: userHash(user),
    cycle,
  });

  const getOrNull = async (partitionKey: string, rowKey: string): Promise<Entity | null> =>
    (await table.get(partitionKey, rowKey))?.value ?? null;

  async function* rows(options: ListOptions): AsyncIterable<Entity> {
    for await (const { value } of table.list(options)) yield value;
  }

  async function deleteRows(keys: ReadonlyArray<{ partitionKey: string; rowKey: string }>): Promise<void> {
    if (keys.length === 0) return;
    await submitGrouped(
      table,
      keys.map((k) => ({ kind: 'delete', partitionKey: k.partitionKey, rowKey: k.rowKey }) as const),
    );
  }

  return {
    userPartition,

    async putUsers(customerId: string, users: readonly MirrorUser[], cycle: string): Promise<void> {
      if (users.length === 0) return;
      await submitGrouped(
        table,
        users.map((user) => ({ kind: 'upsert', row: userEntity(customerId, user, cycle) }) as const),
      );
    },

    async getUser(customerId: string, id: string): Promise<MirrorUser | null> {
      const entity = await getOrNull(userPartition(customerId, id), id);
      return entity ? userOf(entity) : null;
    },

    async deleteUsers(customerId: string, ids: readonly string[]): Promise<void> {
      await deleteRows(ids.map((id) => ({ partitionKey: userPartition(customerId, id), rowKey: id })));
    },

    /** Every mirrored user's content hash, to write only what changed. */
    async userHashes(customerId: string): Promise<Map<string, string>> {
      const hashes = new Map<string, string>();
      for await (const row of rows({ ...usersRange(customerId), select: ['hash'] })) {
        hashes.set(row.rowKey, String(row.hash ?? ''));
      }
      return hashes;
    },

    async listUsers(customerId: string, top: number, cursor?: MirrorCursor): Promise<MirrorPage<MirrorUser>> {
      return page(
        rows({
          ...usersRange(customerId),
          ...(cursor ? { after: { partitionKey: cursor.pk, rowKey: cursor.rk } } : {}),
        }),
        top,
        userOf,
      );
    },

    /** Deletes the users no page of the cycle saw; returns how many. */
    async sweepUsers(customerId: string, seen: ReadonlySet<string>): Promise<number> {
      const gone: Array<{ partitionKey: string; rowKey: string }> = [];
      for await (const row of rows({ ...usersRange(customerId), select: [] })) {
        if (!seen.has(row.rowKey)) gone.push({ partitionKey: row.partitionKey, rowKey: row.rowKey });
      }
      await deleteRows(gone);
      return gone.length;
    },

    async putSeen(customerId: string, cycle: string, page: number, ids: readonly string[]): Promise<void> {
      await table.upsert({
        partitionKey: seenPartition(customerId),
        rowKey: `${cycle}~${String(page).padStart(6, '0')}`,
        ...packText(JSON.stringify(ids)),
      });
    },

    async seen(customerId: string, cycle: string): Promise<Set<string>> {
      const ids = new Set<string>();
      const filter = {
        partitionKey: seenPartition(customerId),
        rowKey: { gt: `${cycle}~`, lt: `${cycle}~~` },
      };
      for await (const row of rows(filter)) {
        for (const id of JSON.parse(unpackText(row)) as string[]) ids.add(id);
      }
      return ids;
    },

    /** Removes the marks of every cycle but `keep` (its own, or none). */
    async clearSeen(customerId: string, keep?: string): Promise<void> {
      const stale: Array<{ partitionKey: string; rowKey: string }> = [];
      for await (const row of rows({ partitionKey: seenPartition(customerId), select: [] })) {
        if (keep === undefined || !row.rowKey.startsWith(`${keep}~`)) stale.push(row);
      }
      await deleteRows(stale);
    },

    async getGroup(customerId: string, id: string): Promise<MirrorGroup | null> {
      const entity = await getOrNull(groupPartition(customerId), `g~${id}`);
      return entity ? groupOf(entity) : null;
    },

    async putGroups(customerId: string, groups: readonly MirrorGroup[], cycle: string): Promise<void> {
      if (groups.length === 0) return;
      await submitGrouped(
        table,
        groups.map(
          (group) =>
            ({
              kind: 'upsert',
              row: {
                partitionKey: groupPartition(customerId),
                rowKey: `g~${group.id}`,
                ...definedOnly({ ...group }),
                cycle,
              },
            }) as const,
        ),
      );
    },

    async listGroups(
      customerId: string,
      top: number,
      cursor?: MirrorCursor,
    ): Promise<MirrorPage<MirrorGroup>> {
      const filter = {
        partitionKey: groupPartition(customerId),
        rowKey: { gt: cursor ? cursor.rk : 'g~', lt: 'g~~' },
      };
      return page(rows(filter), top, groupOf);
    },

    async memberChunks(customerId: string, groupId: string): Promise<MemberChunk[]> {
      const filter = {
        partitionKey: groupPartition(customerId),
        rowKey: { gt: `m~${groupId}~`, lt: `m~${groupId}~~` },
      };
      const chunks: MemberChunk[] = [];
      for await (const row of rows(filter)) {
        chunks.push({ rowKey: row.rowKey, members: JSON.parse(unpackText(row)) as string[] });
      }
      return chunks;
    },

    /** Membership chunks of many groups at once (a full cycle's page). */
    async putMemberChunks(
      customerId: string,
      chunks: ReadonlyArray<{ groupId: string; tag: string; members: readonly string[] }>,
      cycle: string,
    ): Promise<void> {
      if (chunks.length === 0) return;
      await submitGrouped(
        table,
        chunks.map(
          (chunk) =>
            ({
              kind: 'upsert',
              row: {
                partitionKey: groupPartition(customerId),
                rowKey: `m~${chunk.groupId}~${chunk.tag}`,
                count: chunk.members.length,
                cycle,
                ...packText(JSON.stringify(chunk.members)),
              },
            }) as const,
        ),
      );
    },

    /** Writes membership chunks `m~{groupId}~{tag}` and deletes the chunks named in `remove`. */
    async replaceMemberChunks(
      customerId: string,
      groupId: string,
      chunks: ReadonlyArray<{ tag: string; members: readonly string[] }>,
      remove: readonly string[],
      cycle: string,
    ): Promise<void> {
      const written = new Set(chunks.map((c) => `m~${groupId}~${c.tag}`));
      await submitGrouped(table, [
        ...chunks.map(
          (chunk) =>
            ({
              kind: 'upsert',
              row: {
                partitionKey: groupPartition(customerId),
                rowKey: `m~${groupId}~${chunk.tag}`,
                count: chunk.members.length,
                cycle,
                ...packText(JSON.stringify(chunk.members)),
              },
            }) as const,
        ),
        ...remove
          .filter((rowKey) => !written.has(rowKey))
          .map((rowKey) => ({ kind: 'delete', partitionKey: groupPartition(customerId), rowKey }) as const),
      ]);
    },

    /** A group and all its membership chunks. */
    async deleteGroup(customerId: string, groupId: string): Promise<number> {
      const chunks = await this.memberChunks(customerId, groupId);
      const exists = await getOrNull(groupPartition(customerId), `g~${groupId}`);
      await deleteRows([
        ...chunks.map((c) => ({ partitionKey: groupPartition(customerId), rowKey: c.rowKey })),
        ...(exists ? [{ partitionKey: groupPartition(customerId), rowKey: `g~${groupId}` }] : []),
      ]);
      return chunks.reduce((sum, c) => sum + c.members.length, 0);
    },

    /** Deletes the groups and chunks a full cycle did not write; returns the memberships they held. */
    async sweepGroups(customerId: string, cycle: string): Promise<{ groups: number; memberships: number }> {
      const stale: Array<{ partitionKey: string; rowKey: string }> = [];
      let groups = 0;
      let memberships = 0;
      const filter: ListOptions = {
        partitionKey: groupPartition(customerId),
        where: [['cycle', 'ne', cycle]],
        select: ['count'],
      };
      for await (const row of rows(filter)) {
        stale.push(row);
        if (row.rowKey.startsWith('g~')) groups++;
        else memberships += Number(row.count ?? 0);
      }
      await deleteRows(stale);
      return { groups, memberships };
    },

    async voiceObjects(customerId: string): Promise<MirrorVoiceObject[]> {
      const objects: MirrorVoiceObject[] = [];
      for await (const row of rows({ partitionKey: voicePartition(customerId) })) {
        objects.push({
          policyName: String(row.policyName),
          identity: String(row.identity),
          data: JSON.parse(unpackText(row)) as Record<string, unknown>,
        });
      }
      return objects;
    },

    async putVoiceObjects(
      customerId: string,
      put: readonly MirrorVoiceObject[],
      remove: ReadonlyArray<Pick<MirrorVoiceObject, 'policyName' | 'identity'>>,
      cycle: string,
    ): Promise<void> {
      const key = (o: Pick<MirrorVoiceObject, 'policyName' | 'identity'>) =>
        `${o.policyName}~${Buffer.from(o.identity.toLowerCase()).toString('base64url')}`;
      await submitGrouped(table, [
        ...put.map(
          (o) =>
            ({
              kind: 'upsert',
              row: {
                partitionKey: voicePartition(customerId),
                rowKey: key(o),
                policyName: o.policyName,
                identity: o.identity,
                cycle,
                ...packText(JSON.stringify(o.data)),
              },
            }) as const,
        ),
        ...remove.map(
          (o) => ({ kind: 'delete', partitionKey: voicePartition(customerId), rowKey: key(o) }) as const,
        ),
      ]);
    },

    /** Everything of a customer (the customer is gone). */
    async deleteCustomer(customerId: string): Promise<void> {
      const filter: ListOptions = {
        partitionKey: { ge: `${ck(customerId)}~`, lt: `${ck(customerId)}~~` },
        select: [],
      };
      const all: Array<{ partitionKey: string; rowKey: string }> = [];
      for await (const row of rows(filter)) all.push(row);
      await deleteRows(all);
    },
  };
}

export type MirrorStore = ReturnType<typeof createMirrorStoreOn>;

/** Reads up to `top` items and tells where the next page starts (one more row is read to know there is one). */
async function page<T>(
  source: AsyncIterable<Entity>,
  top: number,
  map: (entity: Entity) => T,
): Promise<MirrorPage<T>> {
  const items: T[] = [];
  let last: MirrorCursor | null = null;
  for await (const row of source) {
    if (items.length === top) return { items, next: last };
    items.push(map(row));
    last = { pk: row.partitionKey, rk: row.rowKey };
  }
  return { items, next: null };
}

/** The columns of a user row; lists and maps as JSON text. */
function userColumns(user: MirrorUser) {
  return {
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    department: user.department,
    usageLocation: user.usageLocation,
    businessPhones: JSON.stringify(user.businessPhones),
    mobilePhone: user.mobilePhone,
    accountEnabled: user.accountEnabled,
    accountType: user.accountType,
    enterpriseVoiceEnabled: user.enterpriseVoiceEnabled,
    lineUri: user.lineUri,
    telephoneNumbers: JSON.stringify(user.telephoneNumbers),
    policies: JSON.stringify(sortedRecord(user.policies)),
    teamsModifiedAt: user.teamsModifiedAt,
  };
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A null column is left out of the entity; reading it back gives null. */
function definedOnly(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== null && value !== undefined),
  );
}

const text = (value: unknown) => (typeof value === 'string' ? value : null);
const flag = (value: unknown) => (typeof value === 'boolean' ? value : null);

function userOf(entity: Entity): MirrorUser {
  return {
    id: entity.rowKey,
    userPrincipalName: String(entity.userPrincipalName ?? ''),
    displayName: text(entity.displayName),
    department: text(entity.department),
    usageLocation: text(entity.usageLocation),
    businessPhones: JSON.parse(String(entity.businessPhones ?? '[]')) as string[],
    mobilePhone: text(entity.mobilePhone),
    accountEnabled: flag(entity.accountEnabled),
    accountType: text(entity.accountType),
    enterpriseVoiceEnabled: entity.enterpriseVoiceEnabled === true,
    lineUri: text(entity.lineUri),
    telephoneNumbers: JSON.parse(String(entity.telephoneNumbers ?? '[]')) as string[],
    policies: JSON.parse(String(entity.policies ?? '{}')) as Record<string, string>,
    teamsModifiedAt: text(entity.teamsModifiedAt),
  };
}

function groupOf(entity: Entity): MirrorGroup {
  return {
    id: entity.rowKey.slice(2),
    displayName: text(entity.displayName),
    description: text(entity.description),
    mailEnabled: flag(entity.mailEnabled),
    securityEnabled: flag(entity.securityEnabled),
  };
}
