import { DomainError } from '../errors/domain-errors.js';
import { tableKeyText } from '../storage/table-key.js';
import { type Stored, type Tables, withOptimisticRetry } from '../storage/versioned-table.js';
import type { RateBucket } from './rate-limits.js';

export const RATE_LIMITS_TABLE = 'ratelimits';

/** One counter's row: the window it counts (its start, epoch ms) and the calls counted in it. */
type CounterEntity = { partitionKey: string; rowKey: string; windowStart: number; count: number };

const ROW = 'count';

export interface RateLimiter {
  /**
   * Counts one call against every bucket, or refuses it (DomainError `rate_limited`, with Retry-After) when one is
   * used up for the current window. A storage outage is a TransientError: the call is refused as unavailable,
   * never let through uncounted.
   */
  admit(buckets: readonly RateBucket[], windowSeconds: number): Promise<void>;
}

/**
 * Fixed windows, aligned to the epoch so every instance of the app agrees where one ends, counted in Table storage
 * (one row per bucket, its own partition) because the Functions host runs many instances at once: a counter in
 * memory would let each instance allow the whole limit. A refused call writes nothing: a caller hammering past the
 * limit costs one read per bucket, and its count cannot run ahead of the window.
 */
export function createRateLimiter(tables: Tables, now: () => number = () => Date.now()): RateLimiter {
  const table = tables.table<CounterEntity>(RATE_LIMITS_TABLE);
  return {
    async admit(buckets, windowSeconds) {
      const windowMs = windowSeconds * 1000;
      const at = now();
      const windowStart = Math.floor(at / windowMs) * windowMs;
      const refuse = (bucket: RateBucket) => {
        const seconds = Math.max(1, Math.ceil((windowStart + windowMs - at) / 1000));
        return new DomainError('rate_limited', {
          code: 'rate_limited',
          title: 'Too many requests',
          detail: `${bucket.refusal}; try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
          retryAfterSeconds: seconds,
        });
      };
      const countOf = (row: Stored<CounterEntity> | null) =>
        row && row.value.windowStart === windowStart ? row.value.count : 0;
      // Every bucket is read before any is counted, so a call one bucket refuses is not counted against the others.
      const rows = await Promise.all(buckets.map((b) => table.get(tableKeyText(b.key), ROW)));
      buckets.forEach((bucket, i) => {
        if (countOf(rows[i] ?? null) >= bucket.limit) throw refuse(bucket);
      });
      for (const [i, bucket] of buckets.entries()) {
        const partitionKey = tableKeyText(bucket.key);
        await withOptimisticRetry(async (attempt) => {
          // Another instance may have counted since the first read: each retry reads the row again.
          const row = attempt === 1 ? (rows[i] ?? null) : await table.get(partitionKey, ROW);
          const count = countOf(row);
          if (count >= bucket.limit) throw refuse(bucket);
          const next: CounterEntity = { partitionKey, rowKey: ROW, windowStart, count: count + 1 };
          await (row ? table.replace(next, row.etag) : table.insert(next));
        });
      }
    },
  };
}
