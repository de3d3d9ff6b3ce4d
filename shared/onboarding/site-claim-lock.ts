import { createHash, randomUUID } from 'node:crypto';
import { domainErrors } from '../errors/domain-errors.js';
import { createLeases, type TableLease } from '../storage/table-lease.js';
import type { Tables } from '../storage/versioned-table.js';

export const SITE_CLAIMS_TABLE = 'siteclaims';

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
  const now = options.now ?? Date.now;
  const leases = createLeases(tables, SITE_CLAIMS_TABLE, now);
  const leaseSeconds = (options.leaseMs ?? 15_000) / 1000;
  const waitMs = options.waitMs ?? 20_000;
  const sleep = options.sleep ?? defaultSleep;

  async function take(key: string, holder: string): Promise<TableLease> {
    const deadline = now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      const lease = await leases.acquire(key, holder, leaseSeconds);
      if (lease) return lease;
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
      const holder = randomUUID();
      const held: TableLease[] = [];
      try {
        for (const key of [...new Set(keys.map(rowKeyOf))].sort()) held.push(await take(key, holder));
        return await work();
      } finally {
        // A lease that ran out and was taken over is the new holder's to release. A release that fails leaves the
        // lease to run out; the work is done, and its answer must not become an error.
        for (const lease of held.reverse()) await leases.release(lease).catch(() => undefined);
      }
    },
  };
}
