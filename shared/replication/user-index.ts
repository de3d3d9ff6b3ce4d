import { hash } from 'node:crypto';
import type { MirrorUser } from './mirror-user.js';

/**
 * The index rows the mirror keeps beside each user, so that the Users list of 100,000 users is a few key-range
 * queries (plus server-side filters) and never a scan of the 64 user partitions (docs/decisions.md, "Users list
 * index", and 83):
 * - one family per sort order (`name`, `upn`, `line`): row key = the sort value then the user id;
 * - the search family (`q`): one row per search word (display name words, the UPN, the number's digits), row key =
 *   the word then the id.
 * Each family sits in INDEX_BUCKETS partitions `i~{family}~{bucket}`, the bucket a hash of the user id (of the UPN
 * for the `upn` family, `upnBucket`): a first
 * cycle's writes spread evenly whatever the names look like (employee-number UPNs share their first characters), a
 * page of users fills whole transactions per bucket, and a reader merges the buckets' key ranges in key order.
 * Every sort row carries the list's columns and filter flags, so a page needs nothing else; a search row carries
 * only what a search matches and filters on (`searchColumns`), and a search page reads its users' rows. The `line`
 * rows double as the index by number (`usersWithNumbersBetween`).
 */

export const USER_SORTS = ['display-name', 'user-principal-name', 'line-uri'] as const;
export type UserSort = (typeof USER_SORTS)[number];
export type IndexFamily = UserSort | 'search';

/** The partitions of older layouts (1 and 2), kept to find and remove what they wrote. */
const OLD_SORT_PARTITION: Readonly<Record<UserSort, string>> = {
  'display-name': 'x~name',
  'user-principal-name': 'x~upn',
  'line-uri': 'x~line',
};
const FAMILY_NAME: Readonly<Record<IndexFamily, string>> = {
  'display-name': 'name',
  'user-principal-name': 'upn',
  'line-uri': 'line',
  search: 'q',
};

/**
 * The layout of a user's index rows, stored on its user row (`index`): 1 kept every search word in one partition
 * `q`; 2 split them by the word's first characters (`q~{ab}`), with one partition per sort order (`x~name`); 3 puts
 * every family in INDEX_BUCKETS partitions by the user's id; 4 has 3's keys, its search rows without the list's
 * columns and no row with the user's id as a column (its row key ends with it). A row of an older layout reads as changed to a full cycle, which rewrites it and deletes its old index
 * rows (docs/decisions.md, 49, 83 and 89).
 */
export const INDEX_LAYOUT = 4;
export type IndexLayout = 1 | 2 | 3 | typeof INDEX_LAYOUT;
/** The first layout whose families sit in INDEX_BUCKETS partitions. */
const BUCKETED_LAYOUT = 3;

/**
 * Partitions per index family. Azure serves about 2,000 entities/s a partition: 16 carry a first cycle's 100,000
 * rows of a family in ~3 s, while a Graph page of 999 users still fills ~60 rows of a transaction per bucket.
 */
export const INDEX_BUCKETS = 16;
export const INDEX_BUCKET_IDS: readonly string[] = Array.from({ length: INDEX_BUCKETS }, (_, b) =>
  b.toString(16),
);

/** A user's index bucket: one hex digit by a hash of the id. */
export function indexBucket(id: string): string {
  return (keyHash(id) % INDEX_BUCKETS).toString(16);
}

/** How many keys' hashes are remembered: a few pages of users, whose rows ask for the same ids' buckets. */
const KEY_HASHES_KEPT = 8192;
const keyHashes = new Map<string, number>();

/**
 * The first 16 bits of a key's MD5, which the user buckets and the index buckets are taken from. Remembered for
 * the last few thousand keys: writing a user asks for its id's hash five times (its bucket, its index bucket, the
 * digest's bucket, …), and at 100,000 users the hashing was a visible share of a first cycle's CPU.
 */
export function keyHash(key: string): number {
  let value = keyHashes.get(key);
  if (value === undefined) {
    value = Number.parseInt(hash('md5', key, 'hex').slice(0, 4), 16);
    if (keyHashes.size >= KEY_HASHES_KEPT) keyHashes.clear();
    keyHashes.set(key, value);
  }
  return value;
}

/**
 * The bucket of a UPN's row in the `upn` family: a hash of the UPN as its key holds it, not of the id, so that
 * finding a user by UPN (a bulk import's rows) reads one partition, not every bucket.
 */
export function upnBucket(userPrincipalName: string): string {
  return indexBucket(keyPart(userPrincipalName));
}

/** The partition suffix of a family's bucket. */
export function indexPartition(family: IndexFamily, bucket: string): string {
  return `i~${FAMILY_NAME[family]}~${bucket}`;
}

/** How many leading characters of a search word named its partition in layout 2. */
const SEARCH_SPLIT = 2;

/** Sorts below every character a key part keeps (its spaces become `!`), so "Ann" comes before "Ann Lee" and "Anna". */
export const KEY_SEPARATOR = ' ';
const NO_NUMBER = '~';
/** E.164 allows 15 digits; padded, numbers sort by value and a range of numbers is a range of keys. */
const NUMBER_DIGITS = 15;

/** Characters Table keys refuse (`/ \ # ?`, control characters). */
const UNSAFE = /[/\\#?\p{Cc}]/gu;

/** A sort or search value as a key part: lowercased, unsafe characters folded, spaces as `!`, bounded. */
export function keyPart(value: string): string {
  return value.toLowerCase().replace(UNSAFE, ' ').trim().replace(/\s+/g, '!').slice(0, 200);
}

/** `+4930123` (or a `tel:` Line URI, extension ignored) as its padded key; null when it holds no digits. */
export function numberKey(number: string): string | null {
  const digits = number.replace(/^tel:/i, '').split(';')[0]?.replace(/\D/g, '') ?? '';
  if (digits.length === 0 || digits.length > NUMBER_DIGITS) return null;
  return digits.padStart(NUMBER_DIGITS, '0');
}

/** The words a search matches by prefix: each word of the display name, the UPN and its parts, the number's digits. */
export function searchWords(
  user: Pick<MirrorUser, 'displayName' | 'userPrincipalName' | 'lineUri'>,
): string[] {
  const words = new Set<string>();
  for (const word of (user.displayName ?? '').split(/[\s,.;()"'-]+/)) {
    const part = keyPart(word);
    if (part) words.add(part);
  }
  const upn = keyPart(user.userPrincipalName);
  if (upn) words.add(upn);
  // "smith" finds anna.smith@contoso.com: the UPN's local part split at its dots, dashes and underscores.
  for (const word of (user.userPrincipalName.split('@')[0] ?? '').split(/[._-]+/)) {
    const part = keyPart(word);
    if (part) words.add(part);
  }
  const digits = user.lineUri?.replace(/^tel:/i, '').split(';')[0]?.replace(/\D/g, '');
  if (digits) words.add(digits);
  return [...words].sort();
}

/** The keys of a user's index rows, with their families, in the layout given (the current one by default). */
export function indexKeys(
  user: Pick<MirrorUser, 'id' | 'displayName' | 'userPrincipalName' | 'lineUri'>,
  layout: IndexLayout = INDEX_LAYOUT,
): Array<{ family: IndexFamily; partition: string; rowKey: string }> {
  const id = user.id;
  const line = user.lineUri ? numberKey(user.lineUri) : null;
  const bucketed = layout >= BUCKETED_LAYOUT;
  const bucket = bucketed ? indexBucket(id) : '';
  const sortPartition = (sort: UserSort) =>
    !bucketed
      ? OLD_SORT_PARTITION[sort]
      : indexPartition(sort, sort === 'user-principal-name' ? upnBucket(user.userPrincipalName) : bucket);
  const searchPartition = (word: string) =>
    bucketed
      ? indexPartition('search', bucket)
      : layout === 1
        ? 'q'
        : `q~${[...word].slice(0, SEARCH_SPLIT).join('')}`;
  return [
    {
      family: 'display-name',
      partition: sortPartition('display-name'),
      rowKey: `${keyPart(user.displayName ?? user.userPrincipalName)}${KEY_SEPARATOR}${id}`,
    },
    {
      family: 'user-principal-name',
      partition: sortPartition('user-principal-name'),
      rowKey: `${keyPart(user.userPrincipalName)}${KEY_SEPARATOR}${id}`,
    },
    {
      family: 'line-uri',
      partition: sortPartition('line-uri'),
      rowKey: `${line ?? NO_NUMBER}${KEY_SEPARATOR}${id}`,
    },
    ...searchWords(user).map((word) => ({
      family: 'search' as const,
      partition: searchPartition(word),
      rowKey: `${word}${KEY_SEPARATOR}${id}`,
    })),
  ];
}

/** The user id an index row is for: its row key's last part. */
export function indexedId(rowKey: string): string {
  return rowKey.slice(rowKey.lastIndexOf(KEY_SEPARATOR) + 1);
}

/** The voice routing policy as the filter compares it: its name without `Tag:`, lowercased; `global` by default. */
export function policyKey(name: string | null | undefined): string {
  return (name ?? 'Global').replace(/^tag:/i, '').toLowerCase();
}

/**
 * What the product keeps on a mirrored user beyond what replication reads from the tenant: its Pending changes flag,
 * the template last applied to it, and whether an operator changed it. Every write of the user (a cycle's, an applied change's) keeps them.
 */
export interface UserMarks {
  readonly pending: boolean;
  /** The template's id (as text): its name may change, and a deleted template's users are cleared. */
  readonly template: string | null;
  /** Changed through the product's user routes (an edit, a number, a rollback): the license factor By User Interface. */
  readonly edited: boolean;
}

export const NO_MARKS: UserMarks = { pending: false, template: null, edited: false };

/** The filters' columns, on every index row: always present, since a row without the property never matches a condition. */
function filterColumns(user: MirrorUser, marks: UserMarks): Record<string, unknown> {
  return {
    hasNumber: user.lineUri !== null,
    ev: user.enterpriseVoiceEnabled,
    licensed: user.assignedLicenses.length > 0,
    vrp: policyKey(user.policies.OnlineVoiceRoutingPolicy),
    pending: marks.pending,
    // The filter's column: present only on the users of a template.
    tpl: marks.template,
  };
}

/**
 * What a search row carries beyond its keys: the columns its words come from (a search's further terms are matched
 * on them, `searchWords`) and the filters' flags. A user has about four search rows; the list's columns stay on its
 * user row, which a search page reads for the users it shows (docs/decisions.md, 89).
 */
export function searchColumns(user: MirrorUser, marks: UserMarks): Record<string, unknown> {
  return {
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    lineUri: user.lineUri,
    ...filterColumns(user, marks),
  };
}

/** What a sort row carries beyond its keys (the user's id ends its row key): the list's columns and the filters' flags. */
export function indexColumns(user: MirrorUser, hash: string, marks: UserMarks): Record<string, unknown> {
  const policy = user.policies.OnlineVoiceRoutingPolicy ?? null;
  return {
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    department: user.department,
    usageLocation: user.usageLocation,
    businessPhones: JSON.stringify(user.businessPhones),
    mobilePhone: user.mobilePhone,
    accountEnabled: user.accountEnabled,
    accountType: user.accountType,
    lineUri: user.lineUri,
    voiceRoutingPolicy: policy,
    tenantDialPlan: user.policies.TenantDialPlan ?? null,
    assignedLicenses: JSON.stringify(user.assignedLicenses),
    hash,
    ...filterColumns(user, marks),
  };
}
