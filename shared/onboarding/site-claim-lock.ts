import { createHash } from 'node:crypto';
import { domainErrors, VersionConflictError } from '../errors/domain-errors.js';
import type { Tables } from '../storage/versioned-table.js';

export const SITE_CLAIMS_TABLE = 'siteclaims';
const PARTITION = 'lease';

/** The lease over an SBC's numbers: held by a site's prefixes and by a number range alike. */
export const sbcClaimKey = (sbcId: string) => `sbc|${sbcId.toLowerCase()}`;

/**
 * A short lease per shared resource (an SBC, a region, a gateway FQDN) held while a site's claims on it are checked
 * and the site written. The checks read every site, and the site lives in its customer's partition, so no
 * transaction can cover both; without the lease two creations at the same instant could each pass the check
 * before either wrote. The holder that crashes loses its lease when it expires.
 */
export interface SiteClaimLock {
  /** Runs `work` holding every key (taken in sorted order, so two holders of overlapping keys cannot deadlock). */
  hold<R>(keys: readonly string[], work: () => Promise<R>): Promise<R>;
}

interface LeaseEntity {
  partitionKey: string;
  rowKey: string;
  heldUntil: string;
}

export interface SiteClaimLockOptions {
  /** A check and a site write take milliseconds to a second; a lease outlives them with room. */
  readonly leaseMs?: number;
  /** How long a second writer waits for the lease before it is told to try again. */
  readonly waitMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A row key Azure Tables accepts whatever the name holds (`/`, `#`, `?` are not allowed in keys). */
const rowKeyOf = (key: string) => createHash('sha256').update(key, 'utf8').digest('base64url');

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createSiteClaimLock(tables: Tables, options: SiteClaimLockOptions = {}): SiteClaimLock {
  const table = tables.table<LeaseEntity>(SITE_CLAIMS_TABLE);
  const leaseMs = options.leaseMs ?? 15_000;
  const waitMs = options.waitMs ?? 20_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;

  /** The lease's ETag once taken, or null while another holder's lease runs. */
  async function tryTake(key: string): Promise<string | null> {
    const row: LeaseEntity = {
      partitionKey: PARTITION,
      rowKey: key,
      heldUntil: new Date(now() + leaseMs).toISOString(),
    };
    const found = await table.get(PARTITION, key);
    try {
      if (!found) return await table.insert(row);
      if (Date.parse(found.value.heldUntil) > now()) return null;
      // A holder that stopped without releasing: its lease ran out.
      return await table.replace(row, found.etag);
    } catch (error) {
      if (error instanceof VersionConflictError) return null;
      throw error;
    }
  }

  async function take(key: string): Promise<string> {
    const deadline = now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      const etag = await tryTake(key);
      if (etag !== null) return etag;
      if (now() >= deadline) {
        throw domainErrors.transient(
          'Another change to the sites of this SBC or gateway is being saved; try again in a moment.',
          undefined,
          1,
        );
      }
      await sleep(Math.min(200, 10 * 2 ** attempt));
    }
  }

  return {
    async hold(keys, work) {
      const held: Array<{ key: string; etag: string }> = [];
      try {
        for (const key of [...new Set(keys.map(rowKeyOf))].sort()) held.push({ key, etag: await take(key) });
        return await work();
      } finally {
        // With the ETag: a lease that ran out and was taken over is the new holder's to release. A release that
        // fails leaves the lease to run out; the work is done, and its answer must not become an error.
        for (const { key, etag } of held.reverse())
          await table.delete(PARTITION, key, etag).catch(() => false);
      }
    },
  };
}
