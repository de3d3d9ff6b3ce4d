import { hash as digestOf, randomBytes } from 'node:crypto';
import { shortNameKey } from '../customers/short-name.js';
import { TransientError, domainErrors } from '../errors/domain-errors.js';
import type { Condition, ListOptions, Page, Tables } from '../storage/versioned-table.js';
import type { NumberHolder } from '../users/ports.js';
import type { MirrorUser } from './mirror-user.js';
import { type BatchAction, inParallel, packText, submitGrouped, unpackText } from './table-text.js';
import { DIGEST_VERSION, packDigest, shortHash, unpackDigest } from './user-digest.js';
import { createWriteBatcher, type WriteBatcherOptions } from './write-batcher.js';
import {
  INDEX_BUCKET_IDS,
  INDEX_LAYOUT,
  type IndexFamily,
  type IndexLayout,
  KEY_SEPARATOR,
  indexColumns,
  indexedId,
  indexKeys,
  indexPartition as indexBucketPartition,
  keyHash,
  NO_MARKS,
  numberKey,
  searchColumns,
  type UserMarks,
} from './user-index.js';

/**
 * The customers' mirrored Microsoft 365 data. Keys keep one customer's rows together and let a full cycle find
 * what it did not see:
 * - users: partition `{customer}~u~{bucket}` (64 buckets by a hash of the id, so that a page of users spreads
 *   over partitions and no partition grows past a few thousand rows), row key = user id;
 * - groups: partition `{customer}~g`, rows `g~{groupId}` and membership chunks `m~{groupId}~{tag}` (a list of
 *   member ids: a group of 75,000 members is a few dozen rows, not 75,000);
 * - Teams voice objects: partition `{customer}~v`, rows `{PolicyName}~{identity, base64url}`;
 * - the tenant's subscriptions (`/subscribedSkus`): one row `{customer}~l` / `skus`, rewritten each cycle;
 * - per-page marks of a full cycle: partition `{customer}~s`, rows `{cycleId}~{page}` with the ids seen;
 * - the users' index rows (user-index.ts): partitions `{customer}~i~{family}~{bucket}`, written
 *   before the user's own row and removed before it, so a write interrupted half-way is redone by the next one;
 *   the user row's `index` names their layout;
 * - the users' digest, partition `{customer}~h` (docs/replication.md, "Layout"; decision 80): `b~{bucket}`, one row
 *   per user bucket with each user's id and short hash packed (user-digest.ts), which a full cycle reads instead
 *   of listing the user rows; `o~{bucket}`, written by a full cycle before it writes a user of the bucket and
 *   removed once the bucket's digest is rewritten (an open bucket's digest is not trusted: it is listed); and
 *   `d~{id}~{time}{nonce}`, written by every write of a user outside a full cycle before the user's row (the
 *   digest's entry is then unknown, so the next full cycle rewrites the user) and marked `done` after it; a full
 *   cycle removes the done marks it read once its digest accounts for them. A stale digest can so cost an extra
 *   write, never a skipped one or a missed removal.
 * Every row written by a cycle carries its id (`cycle`); a full cycle's sweep removes the rows it did not mark.
 */
export const MIRROR_TABLE = 'replicamirror';

const USER_BUCKETS = 64;
const SKUS_ROW = 'skus';
/**
 * The largest packed digest written (characters): Azure counts a string's UTF-16 bytes against an entity's 1 MiB,
 * so 480,000 characters (~13,700 users in a bucket, ~870,000 in a customer) keep a margin; a bucket past it has no
 * digest and is listed by every full cycle.
 */
const MAX_DIGEST_CHARS = 480_000;
/** A mark's time in its key: base36 milliseconds at a fixed width, so that a cycle reads it back. */
const MARK_TIME_CHARS = 9;
/** A mark never done is removed after a day: its writer died (its user is rewritten by every cycle until then). */
const MARK_EXPIRY_MS = 24 * 60 * 60 * 1000;

/** What a full cycle knows of the mirrored users when it starts (MirrorStore.userDigest). */
export interface UserDigest {
  /**
   * Every mirrored user's short hash (user-digest.ts); '' when the row is not vouched for (written outside a
   * full cycle since the digest, or of an older index layout), so that a full cycle that sees the user rewrites it.
   */
  readonly hashes: Map<string, string>;
  /** The buckets listed (their digest missing, of another version or layout, or open); the others were trusted. */
  readonly listed: ReadonlySet<string>;
  /** The buckets of the users written outside a full cycle. */
  readonly dirtyBuckets: ReadonlySet<string>;
  /** The marks read that are done (or expired): removed once the digest accounts for them. */
  readonly dirtyKeys: readonly string[];
  /** The user rows listed because a bucket's digest was missing, of another version or open. */
  readonly rowsListed: number;
}

/** A user as the Users list shows it: one index row. */
export interface IndexedUser extends Pick<
  MirrorUser,
  | 'id'
  | 'userPrincipalName'
  | 'displayName'
  | 'department'
  | 'usageLocation'
  | 'businessPhones'
  | 'mobilePhone'
  | 'accountEnabled'
  | 'accountType'
  | 'enterpriseVoiceEnabled'
  | 'lineUri'
  | 'assignedLicenses'
> {
  readonly voiceRoutingPolicy: string | null;
  readonly tenantDialPlan: string | null;
  readonly pending: boolean;
  /** The id of the user template last applied to the user. */
  readonly template: string | null;
  /** The user row's content hash (the details' ETag). */
  readonly hash: string;
  /** The index row's key (which word matched, for a search). */
  readonly rowKey: string;
}

/** What every index row holds, a search row included: what `IndexQuery.keep` decides on. */
export type IndexHit = Pick<IndexedUser, 'id' | 'rowKey' | 'userPrincipalName' | 'displayName' | 'lineUri'>;

/**
 * Where a listing of index rows continues: after a row key in every bucket (`k`); or, for a page that ended where
 * a sparse scan stopped, per bucket: where storage left off (`t`, a continuation) or the first row not yet returned
 * (`r`); a bucket in neither has nothing more.
 */
export type IndexCursor =
  | { readonly k: string }
  | { readonly t?: Readonly<Record<string, string>>; readonly r?: Readonly<Record<string, string>> };

export interface IndexQuery {
  /** The sort order's rows, or the search words'. */
  readonly family: IndexFamily;
  /** Only these buckets (a UPN's, `upnBucket`), when the caller knows where its rows are; every bucket otherwise. */
  readonly buckets?: readonly string[];
  readonly prefix?: string;
  readonly where: readonly Condition[];
  readonly top: number;
  readonly cursor?: IndexCursor;
  /** Keeps only some of the rows read (a search's other words, one row per user). */
  readonly keep?: (hit: IndexHit) => boolean;
}

/**
 * How many storage pages one API page may read in a bucket: when a search's rows are mostly another user's (or
 * storage answers short pages), a page ends early with a cursor where the scans stopped, rather than reading on
 * without bound.
 */
const INDEX_PAGES_PER_REQUEST = 4;
const INDEX_STORAGE_PAGE = 1000;

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

/** The writer day two names on the mirror rows it writes (a cycle names its id). */
export const dayTwoWriter = (taskId: string) => `task-${taskId}`;
export const isDayTwoWriter = (writer: string) => writer.startsWith('task-');

/** A voice object as stored: with the writer of its row (a cycle's id, or `task-{id}` for day two) and the time. */
export interface WrittenVoiceObject extends MirrorVoiceObject {
  readonly writtenBy: string;
  /** Milliseconds since the epoch; 0 for rows written before the time was kept. */
  readonly writtenAt: number;
}

/** A subscription of the tenant (Graph `subscribedSku`): what names a user's license. */
export interface MirrorSku {
  /** Lowercase, as the users' `assignedLicenses`. */
  readonly skuId: string;
  /** E.g. `SPE_E5`; null if Graph gave none. */
  readonly skuPartNumber: string | null;
  /** Enabled, Warning, Suspended, Deleted or LockedOut. */
  readonly capabilityStatus: string | null;
  /** Units bought (`prepaidUnits.enabled`) and assigned (`consumedUnits`). */
  readonly enabled: number;
  readonly consumed: number;
}

export interface MemberChunk {
  readonly rowKey: string;
  readonly members: readonly string[];
}

/** Where a listing continues: the last key it returned. */
/** A change of one mirrored user (MirrorStore.updateUsers). */
export interface MirrorUserUpdate {
  readonly id: string;
  readonly change?: (user: MirrorUser) => MirrorUser;
  readonly pending?: boolean;
  /** The id of the user template applied to the user (null: none). */
  readonly template?: string | null;
  /** Whether an operator's own edit is the user's latest (UserMarks.edited). */
  readonly edited?: boolean;
}

/** A user as the license count sees it: what Direct Routing qualifies by, and the product's marks. */
export interface UserLicenseFacts
  extends
    Pick<MirrorUser, 'id' | 'enterpriseVoiceEnabled' | 'lineUri' | 'policies'>,
    Pick<UserMarks, 'template' | 'edited'> {}

export interface MirrorCursor {
  readonly pk: string;
  readonly rk: string;
}

export interface MirrorPage<T> {
  readonly items: T[];
  readonly next: MirrorCursor | null;
}

/** A user with its content hash, computed once by whoever read it. */
export interface HashedUser {
  readonly user: MirrorUser;
  readonly hash: string;
  /** The row's columns the hash was taken of (`hashedUser`), so that writing the row does not make them again. */
  readonly columns?: UserColumns;
}

/** Member ids per membership row (~80 KB of JSON, well inside an entity's 1 MiB). */
export const MEMBERS_PER_ROW = 2000;

/** A user's bucket: two hex digits, by a hash of the id, so that a page of users spreads over 64 partitions. */
export function userBucket(id: string): string {
  return (keyHash(id) % USER_BUCKETS).toString(16).padStart(2, '0');
}

const ALL_BUCKETS = Array.from({ length: USER_BUCKETS }, (_, b) => b.toString(16).padStart(2, '0'));

export function userHash(user: MirrorUser): string {
  return hashOfColumns(userColumns(user));
}

/** The user with its hash and the columns it was taken of: a full cycle hashes every user and writes some. */
export function hashedUser(user: MirrorUser): Required<HashedUser> {
  const columns = userColumns(user);
  return { user, hash: hashOfColumns(columns), columns };
}

const hashOfColumns = (columns: UserColumns) => digestOf('sha1', JSON.stringify(columns), 'hex').slice(0, 16);

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

export function createMirrorStoreOn(tables: Tables, options: { readonly now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  const table = tables.table<Entity>(MIRROR_TABLE);
  const ck = (customerId: string) => shortNameKey(customerId);
  const userPartition = (customerId: string, id: string) => `${ck(customerId)}~u~${userBucket(id)}`;
  const digestPartition = (customerId: string) => `${ck(customerId)}~h`;
  const usersRange = (customerId: string): ListOptions => ({
    partitionKey: { ge: `${ck(customerId)}~u~`, lt: `${ck(customerId)}~u~~` },
  });
  const groupPartition = (customerId: string) => `${ck(customerId)}~g`;
  const voicePartition = (customerId: string) => `${ck(customerId)}~v`;
  const seenPartition = (customerId: string) => `${ck(customerId)}~s`;
  const skusPartition = (customerId: string) => `${ck(customerId)}~l`;
  const indexPartition = (customerId: string, suffix: string) => `${ck(customerId)}~${suffix}`;
  const userEntity = (
    customerId: string,
    user: MirrorUser,
    cycle: string,
    marks: UserMarks,
    hash = userHash(user),
    columns = userColumns(user),
  ): Entity => ({
    partitionKey: userPartition(customerId, user.id),
    rowKey: user.id,
    ...definedOnly(columns),
    hash,
    ...definedOnly({ ...marks }),
    cycle,
    index: INDEX_LAYOUT,
  });
  const indexRows = (
    customerId: string,
    user: MirrorUser,
    marks: UserMarks,
    layout: IndexLayout = INDEX_LAYOUT,
    hash = userHash(user),
  ): Entity[] => {
    const columns = definedOnly(indexColumns(user, hash, marks));
    const words = definedOnly(searchColumns(user, marks));
    return indexKeys(user, layout).map((key) => ({
      partitionKey: indexPartition(customerId, key.partition),
      rowKey: key.rowKey,
      ...(key.family === 'search' ? words : columns),
    }));
  };
  /** The keys of the index rows a stored user has, in the layout it was written with. */
  const storedIndexKeys = (customerId: string, entity: Entity) =>
    indexKeys(userOf(entity), layoutOf(entity)).map((key) => ({
      partitionKey: indexPartition(customerId, key.partition),
      rowKey: key.rowKey,
    }));
  /** The stored rows of these users (point reads, a few at a time); absent ones are left out. */
  const storedUsers = async (customerId: string, ids: readonly string[]): Promise<Map<string, Entity>> => {
    const found = new Map<string, Entity>();
    await inParallel(ids, 16, async (id) => {
      const entity = await getOrNull(userPartition(customerId, id), id);
      if (entity) found.set(id, entity);
    });
    return found;
  };
  const voiceRows = async (customerId: string): Promise<WrittenVoiceObject[]> => {
    const objects: WrittenVoiceObject[] = [];
    for await (const row of rows({ partitionKey: voicePartition(customerId) })) {
      objects.push({
        policyName: String(row.policyName),
        identity: String(row.identity),
        data: JSON.parse(unpackText(row)) as Record<string, unknown>,
        writtenBy: String(row.cycle ?? ''),
        // Rows written before the time was kept count as written long ago.
        writtenAt: typeof row.writtenAt === 'string' ? Date.parse(row.writtenAt) : 0,
      });
    }
    return objects;
  };
  /** Removes users with their index rows: the index first, so no index row outlives its user. */
  const removeUsers = async (customerId: string, stored: readonly Entity[]): Promise<void> => {
    await deleteRows(stored.flatMap((entity) => storedIndexKeys(customerId, entity)));
    await deleteRows(stored.map((e) => ({ partitionKey: e.partitionKey, rowKey: e.rowKey })));
  };

  /**
   * Marks users as written outside a full cycle, before their rows are (`done` false): each mark is a row of its own
   * (the time and a nonce in its key), so that a full cycle removes only the marks it read, never one written while
   * it ran. `markDone` says the rows are stored: a full cycle removes a mark only once it is done (or a day old, a
   * writer that died), since a mark still being written for could precede a row write landing after the cycle's.
   */
  const mark = async (customerId: string, ids: Iterable<string>, cycle?: string): Promise<string[]> => {
    const at = now().toString(36).padStart(MARK_TIME_CHARS, '0');
    const keys = [...new Set(ids)].map((id) => `d~${id}~${at}${randomBytes(6).toString('base64url')}`);
    await putMarks(customerId, keys, false, cycle);
    return keys;
  };
  const markDone = (customerId: string, keys: readonly string[], cycle?: string) =>
    putMarks(customerId, keys, true, cycle);
  const putMarks = (customerId: string, keys: readonly string[], done: boolean, cycle?: string) =>
    submitGrouped(
      table,
      keys.map(
        (rowKey) =>
          ({
            kind: 'upsert',
            row: { partitionKey: digestPartition(customerId), rowKey, done, ...(cycle ? { cycle } : {}) },
          }) as const,
      ),
    );
  /**
   * Removes users (marked first), with their index rows; returns the marks, done. A full cycle's sweep names
   * itself (`cycle`): its marks left not done by a crash are its own, which its redone sweep may remove.
   */
  const removeMarked = async (
    customerId: string,
    ids: readonly string[],
    cycle?: string,
  ): Promise<string[]> => {
    const stored = [...(await storedUsers(customerId, ids)).values()];
    const keys = await mark(
      customerId,
      stored.map((e) => e.rowKey),
      cycle,
    );
    await removeUsers(customerId, stored);
    await markDone(customerId, keys, cycle);
    return keys;
  };

  const getOrNull = async (partitionKey: string, rowKey: string): Promise<Entity | null> =>
    (await table.get(partitionKey, rowKey))?.value ?? null;

  async function* rows(options: ListOptions): AsyncIterable<Entity> {
    for await (const { value } of table.list(options)) yield value;
  }

  /** Writes users with their index rows, replacing the rows `stored` (their former versions) had. */
  async function writeUsers(
    customerId: string,
    users: readonly MirrorUser[],
    cycle: string,
    stored: ReadonlyMap<string, Entity>,
    marksOf: (id: string) => UserMarks,
  ): Promise<void> {
    const fresh = users.flatMap((user) => indexRows(customerId, user, marksOf(user.id)));
    const kept = new Set(fresh.map((row) => `${row.partitionKey}\n${row.rowKey}`));
    const stale = users
      .flatMap((user) => {
        const entity = stored.get(user.id);
        return entity ? storedIndexKeys(customerId, entity) : [];
      })
      .filter((key) => !kept.has(`${key.partitionKey}\n${key.rowKey}`));
    await submitGrouped(table, [
      ...fresh.map((row) => ({ kind: 'upsert', row }) as const),
      ...stale.map((key) => ({ kind: 'delete', ...key }) as const),
    ]);
    await submitGrouped(
      table,
      users.map(
        (user) => ({ kind: 'upsert', row: userEntity(customerId, user, cycle, marksOf(user.id)) }) as const,
      ),
    );
  }

  const seenRow = (customerId: string, cycle: string, page: number, ids: readonly string[]): Entity => ({
    partitionKey: seenPartition(customerId),
    rowKey: `${cycle}~${String(page).padStart(6, '0')}`,
    ...packText(JSON.stringify(ids)),
  });
  const groupRow = (customerId: string, group: MirrorGroup, cycle: string): Entity => ({
    partitionKey: groupPartition(customerId),
    rowKey: `g~${group.id}`,
    ...definedOnly({ ...group }),
    cycle,
  });
  /** A list of members as rows of at most MEMBERS_PER_ROW; a longer list's rows get `~{part}` after the tag. */
  const memberRows = (
    customerId: string,
    chunk: { groupId: string; tag: string; members: readonly string[] },
    cycle: string,
  ): Entity[] => {
    const rows: Entity[] = [];
    const split = chunk.members.length > MEMBERS_PER_ROW;
    for (let i = 0, part = 0; i < chunk.members.length || part === 0; i += MEMBERS_PER_ROW, part++) {
      const members = chunk.members.slice(i, i + MEMBERS_PER_ROW);
      rows.push({
        partitionKey: groupPartition(customerId),
        rowKey: `m~${chunk.groupId}~${chunk.tag}${split ? `~${String(part).padStart(4, '0')}` : ''}`,
        count: members.length,
        cycle,
        ...packText(JSON.stringify(members)),
      });
    }
    return rows;
  };

  async function deleteRows(keys: ReadonlyArray<{ partitionKey: string; rowKey: string }>): Promise<void> {
    if (keys.length === 0) return;
    await submitGrouped(
      table,
      keys.map((k) => ({ kind: 'delete', partitionKey: k.partitionKey, rowKey: k.rowKey }) as const),
    );
  }

  /**
   * A full cycle's writes to one customer's mirror, through one batcher: the rows of many pages share transactions
   * (full ones where a partition has rows enough), a bounded number run at once, and a caller that writes faster
   * than storage takes waits in `room()`. Each write resolves once its rows are stored; a user's own row is sent
   * only once its index rows are stored, so that a crash never leaves a user row whose hash vouches for index rows
   * that were not written, and a user is sent only once its bucket is open (`o~{bucket}` stored), so that a crash
   * never leaves a user row the bucket's digest does not describe while the digest is trusted.
   */
  function openWriter(customerId: string, options: WriteBatcherOptions) {
    const batcher = createWriteBatcher(table, options);
    const opened = new Map<string, Promise<void>>();
    const open = (ids: readonly string[]) =>
      Promise.all(
        [...new Set(ids.map(userBucket))].map((bucket) => {
          let stored = opened.get(bucket);
          if (!stored) {
            stored = batcher.put({ partitionKey: digestPartition(customerId), rowKey: `o~${bucket}` });
            opened.set(bucket, stored);
          }
          return stored;
        }),
      );
    return {
      /**
       * Users read from the tenant, each with its hash. `mirrored` says which may have a row already (its index
       * keys and marks are read first); the others are written without a read.
       */
      async putUsers(
        users: readonly HashedUser[],
        cycle: string,
        mirrored: (id: string) => boolean,
      ): Promise<void> {
        if (users.length === 0) return;
        const [stored] = await Promise.all([
          storedUsers(customerId, users.map((u) => u.user.id).filter(mirrored)),
          open(users.map((u) => u.user.id)),
        ]);
        const marks = (id: string) => {
          const entity = stored.get(id);
          return entity ? marksOf(entity) : NO_MARKS;
        };
        const indexed: Entity[] = [];
        for (const { user, hash } of users) {
          for (const row of indexRows(customerId, user, marks(user.id), INDEX_LAYOUT, hash))
            indexed.push(row);
        }
        const writes = [batcher.putAll(indexed)];
        if (stored.size > 0) {
          const kept = new Set(indexed.map((row) => `${row.partitionKey}\n${row.rowKey}`));
          for (const { user } of users) {
            const entity = stored.get(user.id);
            if (!entity) continue;
            for (const key of storedIndexKeys(customerId, entity)) {
              if (!kept.has(`${key.partitionKey}\n${key.rowKey}`)) {
                writes.push(batcher.delete(key.partitionKey, key.rowKey));
              }
            }
          }
        }
        await Promise.all(writes);
        await batcher.putAll(
          users.map(({ user, hash, columns }) =>
            userEntity(customerId, user, cycle, marks(user.id), hash, columns),
          ),
        );
      },
      putSeen: (cycle: string, page: number, ids: readonly string[]) =>
        batcher.put(seenRow(customerId, cycle, page, ids)),
      putGroups: (groups: readonly MirrorGroup[], cycle: string) =>
        batcher.putAll(groups.map((group) => groupRow(customerId, group, cycle))),
      putMemberChunks: (
        chunks: ReadonlyArray<{ groupId: string; tag: string; members: readonly string[] }>,
        cycle: string,
      ) => batcher.putAll(chunks.flatMap((chunk) => memberRows(customerId, chunk, cycle))),
      room: () => batcher.room(),
      flush: () => batcher.flush(),
      finish: () => batcher.finish(),
      drain: () => batcher.drain(),
      stop: () => batcher.stop(),
    };
  }

  return {
    userPartition,
    openWriter,

    /**
     * Writes users and their index rows. Costs, per user written: one point read (the old row: its index keys and
     * pending flag) and about 4 + its search words (~7) index upserts, in transactions of 100 per index
     * partition; a cycle writes only the users that changed. `mirrored` (when the caller knows) spares the read
     * of users not in the mirror yet: a first full cycle reads none.
     */
    async putUsers(
      customerId: string,
      users: readonly MirrorUser[],
      cycle: string,
      mirrored: (id: string) => boolean = () => true,
    ): Promise<void> {
      if (users.length === 0) return;
      const [stored, keys] = await Promise.all([
        storedUsers(customerId, users.map((u) => u.id).filter(mirrored)),
        mark(
          customerId,
          users.map((u) => u.id),
        ),
      ]);
      await writeUsers(customerId, users, cycle, stored, (id) => {
        const entity = stored.get(id);
        return entity ? marksOf(entity) : NO_MARKS;
      });
      await markDone(customerId, keys);
    },

    /**
     * Changes mirrored users, each from what is stored now, in one grouped write: `change` makes the user anew (a
     * change applied in Teams), `pending` sets its "pending changes" flag; several updates of one user apply in
     * order, and users not mirrored are left out. What day two writes once a change is applied, for many users at
     * a time: each index partition is then one transaction for all of them.
     */
    async updateUsers(
      customerId: string,
      updates: readonly MirrorUserUpdate[],
      cycle: string,
    ): Promise<void> {
      const stored = await storedUsers(customerId, [...new Set(updates.map((u) => u.id))]);
      const keys = await mark(customerId, stored.keys());
      const users = new Map<string, MirrorUser>();
      const marks = new Map<string, UserMarks>();
      for (const update of updates) {
        const entity = stored.get(update.id);
        if (!entity) continue;
        const user = users.get(update.id) ?? userOf(entity);
        users.set(update.id, update.change ? update.change(user) : user);
        const current = marks.get(update.id) ?? marksOf(entity);
        marks.set(update.id, {
          ...current,
          pending: update.pending ?? current.pending,
          template: update.template !== undefined ? update.template : current.template,
          edited: update.edited ?? current.edited,
        });
      }
      await writeUsers(customerId, [...users.values()], cycle, stored, (id) => marks.get(id) ?? NO_MARKS);
      await markDone(customerId, keys);
    },

    /** The user's content hash (the details' ETag) with the user; null when not mirrored. */
    async getUserVersion(
      customerId: string,
      id: string,
    ): Promise<({ user: MirrorUser; hash: string } & UserMarks) | null> {
      const entity = await getOrNull(userPartition(customerId, id), id);
      if (!entity) return null;
      const user = userOf(entity);
      return { user, hash: userHash(user), ...marksOf(entity) };
    },

    /**
     * Sets or clears the user's "pending changes" flag (the user-change engine's queued commands), on its row and
     * its index rows, and marks it `edited` when asked (a change an operator queued); false when the user is not
     * mirrored.
     */
    async markPending(
      customerId: string,
      userId: string,
      pending: boolean,
      options: { readonly edited?: boolean } = {},
    ): Promise<boolean> {
      const entity = await getOrNull(userPartition(customerId, userId), userId);
      if (!entity) return false;
      // The row is rewritten from this read: a full cycle's write since would be undone, so its digest entry goes.
      const keys = await mark(customerId, [userId]);
      const user = userOf(entity);
      const marks = { ...marksOf(entity), pending, ...(options.edited ? { edited: true } : {}) };
      await submitGrouped(table, [
        ...indexRows(customerId, user, marks, layoutOf(entity)).map(
          (row) => ({ kind: 'upsert', row }) as const,
        ),
        { kind: 'upsert', row: { ...entity, pending, edited: marks.edited } },
      ]);
      await markDone(customerId, keys);
      return true;
    },

    /**
     * The users whose number is in [from, to] (E.164, extension ignored), by number: one range of the index
     * (the number inventory's MirrorNumberIndex, shared/users/ports.ts).
     */
    async usersWithNumbersBetween(customerId: string, from: string, to: string): Promise<NumberHolder[]> {
      const low = numberKey(from);
      const high = numberKey(to);
      if (!low || !high || low > high) return [];
      const found: Array<{ key: string; holder: NumberHolder }> = [];
      await inParallel(INDEX_BUCKET_IDS, INDEX_BUCKET_IDS.length, async (bucket) => {
        const filter: ListOptions = {
          partitionKey: indexPartition(customerId, indexBucketPartition('line-uri', bucket)),
          // The separator sorts below `!`: every key of `high`'s number is below `high!`.
          rowKey: { ge: `${low}${KEY_SEPARATOR}`, lt: `${high}!` },
          select: ['userPrincipalName', 'displayName', 'lineUri'],
        };
        for await (const row of rows(filter)) {
          const lineUri = text(row.lineUri);
          if (!lineUri) continue;
          found.push({
            key: row.rowKey,
            holder: {
              userId: indexedId(row.rowKey),
              userPrincipalName: String(row.userPrincipalName ?? ''),
              displayName: text(row.displayName),
              lineUri,
            },
          });
        }
      });
      return found.sort((a, b) => compareText(a.key, b.key)).map(({ holder }) => holder);
    },

    /**
     * One page of index rows: the family's key range in each of its buckets, the filters applied by storage,
     * merged in key order. Each bucket reads at most INDEX_PAGES_PER_REQUEST storage pages; `next` continues after
     * the last row returned, and where storage stopped in a bucket that found nothing to return.
     */
    async indexPage(
      customerId: string,
      query: IndexQuery,
    ): Promise<{ items: IndexedUser[]; next: IndexCursor | null }> {
      const { cursor } = query;
      const range = query.prefix === undefined ? {} : { prefix: query.prefix };
      const after = cursor && 'k' in cursor ? cursor.k : undefined;
      const stopped = cursor && !('k' in cursor) ? cursor : undefined;
      // Twice a bucket's share of the page: the ids' hash spreads a page's rows evenly, so one storage page each
      // is the rule, and a few rows do not cross the wire for nothing (16 × 1,001 rows for an export page of 1,000).
      const pageSize = Math.min(
        INDEX_STORAGE_PAGE,
        Math.ceil((2 * (query.top + 1)) / INDEX_BUCKET_IDS.length) + 8,
      );
      const readers: BucketReader[] = [];
      for (const bucket of query.buckets ?? INDEX_BUCKET_IDS) {
        const token = stopped?.t?.[bucket];
        const from = stopped?.r?.[bucket];
        if (stopped && token === undefined && from === undefined) continue;
        const source = table
          .list({
            partitionKey: indexPartition(customerId, indexBucketPartition(query.family, bucket)),
            rowKey:
              after !== undefined
                ? { ...range, gt: after }
                : from !== undefined
                  ? { ...range, ge: from }
                  : range,
            where: query.where,
          })
          .byPage({ maxPageSize: pageSize, ...(token === undefined ? {} : { continuationToken: token }) });
        readers.push({ bucket, pages: source[Symbol.asyncIterator](), rows: [], at: 0, more: true, read: 0 });
      }
      const fill = async (reader: BucketReader) => {
        while (reader.at >= reader.rows.length && reader.more && reader.read < INDEX_PAGES_PER_REQUEST) {
          const page = await reader.pages.next();
          reader.read++;
          if (page.done) {
            reader.more = false;
            return;
          }
          reader.rows = page.value.rows.map(({ value }) => indexedUserOf(value));
          if (query.keep) reader.rows = reader.rows.filter(query.keep);
          reader.at = 0;
          reader.token = page.value.continuationToken;
          reader.more = page.value.continuationToken !== undefined;
        }
      };
      const waiting = () => readers.filter((r) => r.at >= r.rows.length && r.more);
      const items: IndexedUser[] = [];
      /** Where the next page starts: null at the end, undefined where the buckets' scans stopped short. */
      let next: IndexCursor | null | undefined;
      try {
        for (;;) {
          const empty = waiting();
          if (empty.length > 0) {
            await Promise.all(empty.map(fill));
            // A bucket that read its pages without a row to offer: nothing after its position can be placed yet.
            if (waiting().length > 0) break;
          }
          let head: BucketReader | undefined;
          for (const reader of readers) {
            const row = reader.rows[reader.at];
            if (row && (!head || compareText(row.rowKey, head.rows[head.at]?.rowKey ?? '') < 0))
              head = reader;
          }
          if (!head) {
            next = null;
            break;
          }
          if (items.length === query.top) {
            next = { k: items.at(-1)?.rowKey ?? '' };
            break;
          }
          const row = head.rows[head.at++];
          if (row) items.push(row);
        }
      } catch (error) {
        // A continuation storage cannot read was not one this API handed out (an outage stays an outage).
        if (stopped?.t && !(error instanceof TransientError)) throw invalidCursor();
        throw error;
      }
      if (next === undefined) {
        // Each bucket's own position, so that the next page neither reads again what this one passed over nor skips.
        const t: Record<string, string> = {};
        const r: Record<string, string> = {};
        for (const reader of readers) {
          const first = reader.rows[reader.at];
          if (first) r[reader.bucket] = first.rowKey;
          else if (reader.more && reader.token !== undefined) t[reader.bucket] = reader.token;
        }
        next = { t, r };
      }
      if (query.family !== 'search') return { items, next };
      // A search row holds no list columns: the page's users are read from their rows; one gone since is left out.
      const users = await storedUsers(
        customerId,
        items.map((item) => item.id),
      );
      return {
        items: items.flatMap((item) => {
          const entity = users.get(item.id);
          return entity ? [listedUserOf(entity, item.rowKey)] : [];
        }),
        next,
      };
    },

    async getUser(customerId: string, id: string): Promise<MirrorUser | null> {
      const entity = await getOrNull(userPartition(customerId, id), id);
      return entity ? userOf(entity) : null;
    },

    async deleteUsers(customerId: string, ids: readonly string[]): Promise<void> {
      await removeMarked(customerId, ids);
    },

    /**
     * Every mirrored user's content hash, to write only what changed; a user whose index rows have an older layout
     * has none, so that the next full cycle rewrites it (and its index) even if it did not change.
     */
    async userHashes(customerId: string): Promise<Map<string, string>> {
      const hashes = new Map<string, string>();
      for await (const row of rows({ ...usersRange(customerId), select: ['hash', 'index'] })) {
        hashes.set(row.rowKey, layoutOf(row) === INDEX_LAYOUT ? String(row.hash ?? '') : '');
      }
      return hashes;
    },

    /**
     * The users the product manages, by id, as the license factors count them: those a user template was applied to
     * (their Template column), and those an operator changed. One pass over the users' rows.
     */
    async managedUsers(
      customerId: string,
    ): Promise<{ byTemplate: Set<string>; byUserInterface: Set<string> }> {
      const byTemplate = new Set<string>();
      const byUserInterface = new Set<string>();
      for await (const row of rows({ ...usersRange(customerId), select: ['template', 'edited'] })) {
        if (text(row.template)) byTemplate.add(row.rowKey);
        if (row.edited === true) byUserInterface.add(row.rowKey);
      }
      return { byTemplate, byUserInterface };
    },

    /**
     * What the license count reads of every user (Direct Routing's columns and the product's marks), selecting only
     * those columns: the license gate counts afresh before each provisioning. The 64 user partitions are read as
     * separate queries, 16 at a time, so that 100,000 users are not 100 storage pages one after the other.
     */
    async licenseFacts(customerId: string): Promise<UserLicenseFacts[]> {
      const facts: UserLicenseFacts[] = [];
      const select = ['enterpriseVoiceEnabled', 'lineUri', 'policies', 'template', 'edited'];
      const buckets = Array.from({ length: USER_BUCKETS }, (_, b) => b.toString(16).padStart(2, '0'));
      await inParallel(buckets, 16, async (bucket) => {
        for await (const row of rows({ partitionKey: `${ck(customerId)}~u~${bucket}`, select })) {
          const policies = JSON.parse(String(row.policies ?? '{}')) as Record<string, string>;
          const routing = policies.OnlineVoiceRoutingPolicy;
          facts.push({
            id: row.rowKey,
            enterpriseVoiceEnabled: row.enterpriseVoiceEnabled === true,
            lineUri: text(row.lineUri),
            policies: routing ? { OnlineVoiceRoutingPolicy: routing } : {},
            template: text(row.template),
            edited: row.edited === true,
          });
        }
      });
      return facts;
    },

    /** Whether the mirror holds no user and no group of the customer: one short read of each. */
    async holdsNothing(customerId: string): Promise<boolean> {
      const any = async (options: ListOptions) => {
        for await (const row of rows({ ...options, select: [] })) return row !== undefined;
        return false;
      };
      return (
        !(await any(usersRange(customerId))) && !(await any({ partitionKey: groupPartition(customerId) }))
      );
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

    /**
     * What a full cycle compares the tenant's users with, without listing the user rows of a steady mirror: the 64
     * digest rows (point reads, 16 at a time) and the marks beside them (one range of the digest partition); a
     * bucket whose digest is missing, of another version or layout, or open, is listed instead, as userHashes does.
     * A mirror written before digests existed is so listed once, by its first full cycle, which then writes them.
     */
    async userDigest(customerId: string, cycle?: string): Promise<UserDigest> {
      const partition = digestPartition(customerId);
      const hashes = new Map<string, string>();
      // The digests' text until the open buckets are known, then unpacked straight into `hashes`: at 100,000 users
      // a map per bucket beside the merged one held ~12 MB more at the start of every steady cycle.
      const digests = new Map<string, string>();
      const open = new Set<string>();
      const dirtyKeys: string[] = [];
      const dirtyIds: string[] = [];
      await Promise.all([
        (async () => {
          const expired = now() - MARK_EXPIRY_MS;
          const marks = {
            partitionKey: partition,
            rowKey: { ge: 'd~', lt: 'o~~' },
            select: ['done', 'cycle'],
          };
          for await (const row of rows(marks)) {
            if (row.rowKey.startsWith('o~')) {
              open.add(row.rowKey.slice(2));
              continue;
            }
            const end = row.rowKey.lastIndexOf('~');
            dirtyIds.push(row.rowKey.slice(2, end));
            const at = Number.parseInt(row.rowKey.slice(end + 1, end + 1 + MARK_TIME_CHARS), 36);
            const own = cycle !== undefined && row.cycle === cycle;
            if (row.done === true || own || at < expired) dirtyKeys.push(row.rowKey);
          }
        })(),
        inParallel(ALL_BUCKETS, 16, async (bucket) => {
          const row = await getOrNull(partition, `b~${bucket}`);
          if (row && row.v === DIGEST_VERSION && row.index === INDEX_LAYOUT) {
            digests.set(bucket, unpackText(row));
          }
        }),
      ]);
      const listed = ALL_BUCKETS.filter((bucket) => open.has(bucket) || !digests.has(bucket));
      let rowsListed = 0;
      for (const [bucket, text] of digests) if (!open.has(bucket)) unpackDigest(text, hashes);
      digests.clear();
      await inParallel(listed, 16, async (bucket) => {
        for await (const row of rows({
          partitionKey: `${ck(customerId)}~u~${bucket}`,
          select: ['hash', 'index'],
        })) {
          rowsListed++;
          hashes.set(row.rowKey, layoutOf(row) === INDEX_LAYOUT ? shortHash(String(row.hash ?? '')) : '');
        }
      });
      for (const id of dirtyIds) hashes.set(id, '');
      return {
        hashes,
        listed: new Set(listed),
        dirtyBuckets: new Set(dirtyIds.map(userBucket)),
        dirtyKeys,
        rowsListed,
      };
    },

    /**
     * Rewrites the digest of `buckets` from `hashes` (every mirrored user, as the full cycle left them, '' for one
     * not vouched for), then closes those buckets and removes the marks `dirtyKeys` it accounts for. Called only
     * once the user rows it describes are stored; a crash before it leaves the buckets open (listed next time).
     */
    async sealDigest(
      customerId: string,
      hashes: ReadonlyMap<string, string>,
      buckets: ReadonlySet<string>,
      dirtyKeys: readonly string[],
      cycle: string,
    ): Promise<void> {
      if (buckets.size === 0 && dirtyKeys.length === 0) return;
      const partition = digestPartition(customerId);
      const entries = new Map<string, Map<string, string>>([...buckets].map((b) => [b, new Map()]));
      for (const [id, hash] of hashes) entries.get(userBucket(id))?.set(id, hash);
      const digests: Array<BatchAction<Entity>> = [];
      const sealed: string[] = [];
      for (const [bucket, users] of entries) {
        const packed = packDigest(users);
        if (packed.length > MAX_DIGEST_CHARS) {
          // Too many users for one entity: the bucket has no digest (and stays open), so it is listed.
          digests.push({ kind: 'delete', partitionKey: partition, rowKey: `b~${bucket}` });
          continue;
        }
        sealed.push(bucket);
        digests.push({
          kind: 'upsert',
          row: {
            partitionKey: partition,
            rowKey: `b~${bucket}`,
            v: DIGEST_VERSION,
            index: INDEX_LAYOUT,
            count: users.size,
            cycle,
            ...packText(packed),
          },
        });
      }
      await submitGrouped(table, digests);
      const open: Array<{ partitionKey: string; rowKey: string }> = [];
      for await (const row of rows({
        partitionKey: partition,
        rowKey: { gt: 'o~', lt: 'o~~' },
        select: [],
      })) {
        if (sealed.includes(row.rowKey.slice(2))) open.push(row);
      }
      await deleteRows([...open, ...dirtyKeys.map((rowKey) => ({ partitionKey: partition, rowKey }))]);
    },

    /**
     * Removes the users a full cycle did not see (each marked first, so that a crash before the digest is
     * rewritten leaves their entries unknown, not vouched for); returns how many were mirrored and the marks.
     */
    async sweepUsers(
      customerId: string,
      gone: readonly string[],
      cycle: string,
    ): Promise<{ removed: number; marks: string[] }> {
      const marks = await removeMarked(customerId, gone, cycle);
      return { removed: marks.length, marks };
    },

    async putSeen(customerId: string, cycle: string, page: number, ids: readonly string[]): Promise<void> {
      await table.upsert(seenRow(customerId, cycle, page, ids));
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
        groups.map((group) => ({ kind: 'upsert', row: groupRow(customerId, group, cycle) }) as const),
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

    /**
     * A group's membership rows, each with the members it holds now: a row of a quick cycle's changes adds members
     * and removes others (its `r` columns), over the rows before it; a member is listed once, in the row that last
     * added it.
     */
    async memberChunks(customerId: string, groupId: string): Promise<MemberChunk[]> {
      const filter = {
        partitionKey: groupPartition(customerId),
        rowKey: { gt: `m~${groupId}~`, lt: `m~${groupId}~~` },
      };
      const stored: Array<{ rowKey: string; added: string[] }> = [];
      const addedIn = new Map<string, number>();
      for await (const row of rows(filter)) {
        const { added, removed } = membershipOf(row);
        for (const member of added) addedIn.set(member, stored.length);
        for (const member of removed) addedIn.delete(member);
        stored.push({ rowKey: row.rowKey, added });
      }
      return stored.map(({ rowKey, added }, index) => ({
        rowKey,
        members: added.filter((member) => addedIn.get(member) === index),
      }));
    },

    /** The groups a user is a member of: one read of the customer's group partition (its rows hold the members). */
    async groupsOfUser(customerId: string, userId: string): Promise<MirrorGroup[]> {
      const groups = new Map<string, MirrorGroup>();
      const memberOf = new Set<string>();
      for await (const row of rows({ partitionKey: groupPartition(customerId) })) {
        if (row.rowKey.startsWith('g~')) groups.set(row.rowKey.slice(2), groupOf(row));
        else if (row.rowKey.startsWith('m~')) {
          // The rows of one group come in the order their changes were made: the last that names the user decides.
          const groupId = row.rowKey.slice(2, row.rowKey.indexOf('~', 2));
          const { added, removed } = membershipOf(row);
          if (added.includes(userId)) memberOf.add(groupId);
          if (removed.includes(userId)) memberOf.delete(groupId);
        }
      }
      return [...memberOf]
        .map((id) => groups.get(id))
        .filter((group): group is MirrorGroup => group !== undefined)
        .sort((a, b) => (a.displayName ?? a.id).localeCompare(b.displayName ?? b.id));
    },

    /**
     * A quick cycle's membership changes of one group, from Graph's `members@delta`, written without reading the
     * group: rows `m~{groupId}~{tag}` that add and remove members over the rows before them (the tag sorts after
     * every earlier row of the group). The next full cycle rewrites the group whole and sweeps them.
     */
    async putMemberChanges(
      customerId: string,
      groupId: string,
      tag: string,
      change: { readonly added: readonly string[]; readonly removed: readonly string[] },
      cycle: string,
    ): Promise<void> {
      const parts = Math.max(
        1,
        Math.ceil(Math.max(change.added.length, change.removed.length) / MEMBERS_PER_ROW),
      );
      const changes: Entity[] = [];
      for (let part = 0; part < parts; part++) {
        const added = change.added.slice(part * MEMBERS_PER_ROW, (part + 1) * MEMBERS_PER_ROW);
        const removed = change.removed.slice(part * MEMBERS_PER_ROW, (part + 1) * MEMBERS_PER_ROW);
        changes.push({
          partitionKey: groupPartition(customerId),
          rowKey: `m~${groupId}~${tag}${parts > 1 ? `~${String(part).padStart(4, '0')}` : ''}`,
          count: added.length - removed.length,
          cycle,
          ...packText(JSON.stringify(added)),
          ...packText(JSON.stringify(removed), 'r'),
        });
      }
      await submitGrouped(
        table,
        changes.map((row) => ({ kind: 'upsert', row }) as const),
      );
    },

    /** Membership chunks of many groups at once (a full cycle's page). */
    async putMemberChunks(
      customerId: string,
      chunks: ReadonlyArray<{ groupId: string; tag: string; members: readonly string[] }>,
      cycle: string,
    ): Promise<void> {
      if (chunks.length === 0) return;
      const writer = openWriter(customerId, { maxInFlight: 8, maxBuffered: 1000, maxWaitMs: 0 });
      try {
        const written = writer.putMemberChunks(chunks, cycle);
        writer.finish();
        await written;
      } finally {
        await writer.stop();
      }
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
      return (await voiceRows(customerId)).map(({ policyName, identity, data }) => ({
        policyName,
        identity,
        data,
      }));
    },

    /** The voice objects with who last wrote each (a cycle's id, or `task-{id}` for day two) and when. */
    voiceRows,

    async putVoiceObjects(
      customerId: string,
      put: readonly MirrorVoiceObject[],
      remove: ReadonlyArray<Pick<MirrorVoiceObject, 'policyName' | 'identity'>>,
      cycle: string,
    ): Promise<void> {
      const key = (o: Pick<MirrorVoiceObject, 'policyName' | 'identity'>) =>
        `${o.policyName}~${Buffer.from(o.identity.toLowerCase()).toString('base64url')}`;
      const writtenAt = new Date(now()).toISOString();
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
                writtenAt,
                ...packText(JSON.stringify(o.data)),
              },
            }) as const,
        ),
        ...remove.map(
          (o) => ({ kind: 'delete', partitionKey: voicePartition(customerId), rowKey: key(o) }) as const,
        ),
      ]);
    },

    /** The tenant's subscriptions as the last cycle read them (none before the first). */
    async skus(customerId: string): Promise<MirrorSku[]> {
      const entity = await getOrNull(skusPartition(customerId), SKUS_ROW);
      return entity ? (JSON.parse(unpackText(entity)) as MirrorSku[]) : [];
    },

    /** Replaces the tenant's subscriptions: one row, so that a reader of names pays one point read. */
    async putSkus(customerId: string, skus: readonly MirrorSku[], cycle: string): Promise<void> {
      await table.upsert({
        partitionKey: skusPartition(customerId),
        rowKey: SKUS_ROW,
        cycle,
        ...packText(JSON.stringify([...skus].sort((a, b) => (a.skuId < b.skuId ? -1 : 1)))),
      });
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

function invalidCursor() {
  return domainErrors.validation([
    { field: 'cursor', in: 'query', code: 'invalid_cursor', message: 'cursor is not one this API returned.' },
  ]);
}

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

type UserColumns = ReturnType<typeof userColumns>;

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
    assignedLicenses: JSON.stringify(user.assignedLicenses),
  };
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  // Keys in code-unit order, as a string comparison sorts them; without entry pairs, as for every user a cycle reads.
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) sorted[key] = record[key] as string;
  return sorted;
}

/** A null column is left out of the entity; reading it back gives null. */
function marksOf(entity: Entity): UserMarks {
  return {
    pending: entity.pending === true,
    template: text(entity.template),
    edited: entity.edited === true,
  };
}

function definedOnly(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const defined: Record<string, unknown> = {};
  // A loop rather than entries, filter and fromEntries: every user and index row a cycle writes passes here.
  for (const name in record) {
    const value = record[name];
    if (value !== null && value !== undefined) defined[name] = value;
  }
  return defined;
}

const text = (value: unknown) => (typeof value === 'string' ? value : null);
const flag = (value: unknown) => (typeof value === 'boolean' ? value : null);

/** One bucket's scan in a merged index page. */
interface BucketReader {
  readonly bucket: string;
  readonly pages: AsyncIterator<Page<Entity>>;
  rows: IndexedUser[];
  at: number;
  /** Whether storage has more after the rows read. */
  more: boolean;
  /** Storage pages read by this request. */
  read: number;
  token?: string;
}

/** Table storage orders keys by their characters' code units, as JavaScript compares strings. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The layout of a stored user's index rows (user-index.ts); rows written before layouts were named are 1. */
function layoutOf(entity: Entity): IndexLayout {
  return entity.index === INDEX_LAYOUT || entity.index === 3 || entity.index === 2 ? entity.index : 1;
}

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
    assignedLicenses: JSON.parse(String(entity.assignedLicenses ?? '[]')) as string[],
  };
}

/** A sort row as the list shows it; a search row gives only what it holds (`IndexHit`) until its user is read. */
function indexedUserOf(entity: Entity): IndexedUser {
  return {
    id: indexedId(entity.rowKey),
    userPrincipalName: String(entity.userPrincipalName ?? ''),
    displayName: text(entity.displayName),
    department: text(entity.department),
    usageLocation: text(entity.usageLocation),
    businessPhones: JSON.parse(String(entity.businessPhones ?? '[]')) as string[],
    mobilePhone: text(entity.mobilePhone),
    accountEnabled: flag(entity.accountEnabled),
    accountType: text(entity.accountType),
    enterpriseVoiceEnabled: entity.ev === true,
    lineUri: text(entity.lineUri),
    voiceRoutingPolicy: text(entity.voiceRoutingPolicy),
    tenantDialPlan: text(entity.tenantDialPlan),
    assignedLicenses: JSON.parse(String(entity.assignedLicenses ?? '[]')) as string[],
    pending: entity.pending === true,
    template: text(entity.tpl),
    hash: String(entity.hash ?? ''),
    rowKey: entity.rowKey,
  };
}

/** A user's row as the list shows it, for the index row `rowKey` that found it (a search's). */
function listedUserOf(entity: Entity, rowKey: string): IndexedUser {
  const { telephoneNumbers: _numbers, policies, teamsModifiedAt: _modified, ...columns } = userOf(entity);
  const marks = marksOf(entity);
  return {
    ...columns,
    voiceRoutingPolicy: policies.OnlineVoiceRoutingPolicy ?? null,
    tenantDialPlan: policies.TenantDialPlan ?? null,
    pending: marks.pending,
    template: marks.template,
    hash: String(entity.hash ?? ''),
    rowKey,
  };
}

/** What a membership row adds (`d` columns) and, for a quick cycle's changes, removes (`r` columns). */
function membershipOf(entity: Entity): { added: string[]; removed: string[] } {
  const removed = unpackText(entity, 'r');
  return {
    added: JSON.parse(unpackText(entity)) as string[],
    removed: removed ? (JSON.parse(removed) as string[]) : [],
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
