import type { MirrorUser } from './mirror-user.js';

/**
 * The index rows the mirror keeps beside each user, so that the Users list of 100,000 users is one key-range query
 * (plus server-side filters) and never a scan of the 64 user partitions (docs/decisions.md, "Users list index"):
 * - `x~name`, `x~upn`, `x~line`: one partition per sort order, row key = the sort value then the user id;
 * - `q~{ab}`: the search words (display name words, the UPN, the number's digits), row key = the word then the id,
 *   in partitions by the word's first two characters (`searchPartition`), so that a first cycle's writes spread.
 * Every index row carries the list's columns and filter flags, so a page needs nothing else. The `x~line` rows
 * double as the index by number (`usersWithNumbersBetween`).
 */

export const USER_SORTS = ['display-name', 'user-principal-name', 'line-uri'] as const;
export type UserSort = (typeof USER_SORTS)[number];

export const SORT_PARTITION: Readonly<Record<UserSort, string>> = {
  'display-name': 'x~name',
  'user-principal-name': 'x~upn',
  'line-uri': 'x~line',
};
/**
 * The layout of a user's index rows, stored on its user row (`index`): 1 kept every search word in one partition
 * `q`; 2 splits them by the word's first characters. A row of an older layout reads as changed to a full cycle, which
 * rewrites it and deletes its old index rows (docs/decisions.md, 49).
 */
export const INDEX_LAYOUT = 2;
export type IndexLayout = 1 | typeof INDEX_LAYOUT;

/** How many leading characters of a search word name its partition. */
export const SEARCH_SPLIT = 2;
const SEARCH_PREFIX = 'q~';

/** The partition of a search word: its first SEARCH_SPLIT characters (whole code points, never half a pair). */
export function searchPartition(word: string): string {
  return `${SEARCH_PREFIX}${[...word].slice(0, SEARCH_SPLIT).join('')}`;
}

/** The partition of a search row, from its row key (the word, the separator, the id). */
export function searchPartitionOfRow(rowKey: string): string {
  const end = rowKey.indexOf(KEY_SEPARATOR);
  return searchPartition(end < 0 ? rowKey : rowKey.slice(0, end));
}

/**
 * Where a search for words starting with `term` reads: one partition when the term has SEARCH_SPLIT characters or
 * more, otherwise the partitions whose key starts with the term (one key range, in the words' order, since a
 * partition holds the words of its prefix).
 */
export function searchPartitions(term: string): string | { readonly prefix: string } {
  return [...term].length >= SEARCH_SPLIT ? searchPartition(term) : { prefix: `${SEARCH_PREFIX}${term}` };
}

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

/** The row keys of a user's index rows, by partition suffix, in the layout given (the current one by default). */
export function indexKeys(
  user: Pick<MirrorUser, 'id' | 'displayName' | 'userPrincipalName' | 'lineUri'>,
  layout: IndexLayout = INDEX_LAYOUT,
): Array<{ partition: string; rowKey: string }> {
  const id = user.id;
  const line = user.lineUri ? numberKey(user.lineUri) : null;
  return [
    {
      partition: SORT_PARTITION['display-name'],
      rowKey: `${keyPart(user.displayName ?? user.userPrincipalName)}${KEY_SEPARATOR}${id}`,
    },
    {
      partition: SORT_PARTITION['user-principal-name'],
      rowKey: `${keyPart(user.userPrincipalName)}${KEY_SEPARATOR}${id}`,
    },
    { partition: SORT_PARTITION['line-uri'], rowKey: `${line ?? NO_NUMBER}${KEY_SEPARATOR}${id}` },
    ...searchWords(user).map((word) => ({
      partition: layout === 1 ? 'q' : searchPartition(word),
      rowKey: `${word}${KEY_SEPARATOR}${id}`,
    })),
  ];
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

/** What an index row carries beyond its keys: the list's columns and the filters' flags. */
export function indexColumns(user: MirrorUser, hash: string, marks: UserMarks): Record<string, unknown> {
  const policy = user.policies.OnlineVoiceRoutingPolicy ?? null;
  return {
    userId: user.id,
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
    // The filters' columns: always present, since a row without the property never matches a condition.
    hasNumber: user.lineUri !== null,
    ev: user.enterpriseVoiceEnabled,
    licensed: user.assignedLicenses.length > 0,
    vrp: policyKey(policy),
    pending: marks.pending,
    // The filter's column: present only on the users of a template.
    tpl: marks.template,
  };
}
