/**
 * The packed form of a user bucket's digest (mirror-store.ts, partition `{customer}~h`): each user as its id and a
 * truncated content hash, so that a full cycle over an unchanged tenant reads 64 rows rather than every user row.
 * An entry is the id (a GUID as its 16 bytes in 22 base64url characters; any other id as `*` and its UTF-8 in
 * base64url) then DIGEST_HASH_CHARS of the hash; entries are separated by commas. 1,563 users (100,000 / 64) make
 * 1,563 × 35 = ~55,000 characters.
 */

/** Bumped when the packing changes: a digest of another version is not read (the bucket is listed instead). */
export const DIGEST_VERSION = 1;
/**
 * Hex characters of the hash kept (48 bits): a changed user whose new hash agreed with the old one in all of them
 * would be skipped, a chance of 2^-48 (~4 × 10^-15) per change.
 */
export const DIGEST_HASH_CHARS = 12;
/** The hash of a user whose stored row is not vouched for (written outside a cycle): never equal to a real one. */
const UNKNOWN_HASH = 'x'.repeat(DIGEST_HASH_CHARS);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The digest's form of a user's hash: its first DIGEST_HASH_CHARS characters; '' (unknown) stays ''. */
export const shortHash = (hash: string): string => hash.slice(0, DIGEST_HASH_CHARS);

function packId(id: string): string {
  if (GUID.test(id)) return Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64url');
  return `*${Buffer.from(id, 'utf8').toString('base64url')}`;
}

function unpackId(packed: string): string {
  if (packed.startsWith('*')) return Buffer.from(packed.slice(1), 'base64url').toString('utf8');
  const hex = Buffer.from(packed, 'base64url').toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Packs `id → short hash` ('' for unknown), sorted by id so that the same users always make the same text. */
export function packDigest(entries: ReadonlyMap<string, string>): string {
  return [...entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, hash]) => `${packId(id)}${hash.length === DIGEST_HASH_CHARS ? hash : UNKNOWN_HASH}`)
    .join(',');
}

/** The digest's `id → short hash`, added to `entries` when given (a full cycle unpacks every bucket into one map). */
export function unpackDigest(text: string, entries = new Map<string, string>()): Map<string, string> {
  if (text === '') return entries;
  for (const entry of text.split(',')) {
    const hash = entry.slice(-DIGEST_HASH_CHARS);
    entries.set(unpackId(entry.slice(0, -DIGEST_HASH_CHARS)), hash === UNKNOWN_HASH ? '' : hash);
  }
  return entries;
}
