import { VersionConflictError } from '../../shared/errors/domain-errors.js';
import { azureTables } from '../../shared/storage/azure-tables.js';
import type { StorageSource } from '../../shared/storage/storage-endpoints.js';
import { tableKeyText } from '../../shared/storage/table-key.js';
import { createLeases, type TableLease } from '../../shared/storage/table-lease.js';

/**
 * What the Functions host keeps in AzureWebJobsStorage so that a timer fires once per occurrence however many
 * instances run the app (azure-webjobs-sdk-extensions, TimerListener and StorageScheduleMonitor):
 * - a singleton listener lock per timer function, the blob lease `locks/{hostId}/Host.Functions.{name}.Listener`
 *   in the `azure-webjobs-hosts` container: only the instance holding it runs the timer; the others poll for it;
 * - the schedule status, the blob `timers/{hostId}/Host.Functions.{name}/status` ({Last, Next, LastUpdated}),
 *   which a new holder reads to fire an occurrence its predecessor missed (isPastDue).
 * The local host keeps both as rows of one table (the product ships no blob SDK), with the storage kit's ETag
 * leases; the table exists only where the local host runs, never in Azure, where the host uses its blobs.
 */
export const HOST_TABLE = 'AzureWebJobsHostsLocal';

/** A timer's schedule status as Azure records and passes it: ISO instants, `0001-01-01…` before any run. */
export interface ScheduleStatus {
  readonly last: string;
  readonly next: string;
  readonly lastUpdated: string;
}

export interface StoredStatus {
  readonly status: ScheduleStatus;
  readonly etag: string;
}

export interface TimerCoordination {
  /** Takes or renews the timer's listener lock; false while another instance holds it. */
  lock(seconds: number): Promise<boolean>;
  /** Gives the lock up (a graceful stop), so that another instance takes the timer over at its next poll. */
  unlock(): Promise<void>;
  status(): Promise<StoredStatus | null>;
  /**
   * Records `status` if the stored one is still `expected` (null: none yet); null when another instance wrote it
   * first. This is what makes an occurrence fire once: two instances that both believe they hold the lock (one
   * stalled past its lease) cannot both record the same occurrence.
   */
  record(status: ScheduleStatus, expected: StoredStatus | null): Promise<StoredStatus | null>;
}

type StatusRow = { partitionKey: string; rowKey: string } & ScheduleStatus;

/** One table for every timer of the hosts on this storage; `hostId` keeps two apps sharing it apart, as in Azure. */
export function timerCoordination(
  storage: StorageSource,
  ids: { readonly hostId: string; readonly instanceId: string },
  now: () => Date,
): (functionName: string) => TimerCoordination {
  // Few quick retries: locally a storage outage should show in the log now (and the lock is tried again anyway).
  const tables = azureTables(storage, { maxRetries: 2 });
  const leases = createLeases(tables, HOST_TABLE, () => now().getTime());
  const statuses = tables.table<StatusRow>(HOST_TABLE);
  const partition = tableKeyText(`timers:${ids.hostId}`);
  return (functionName) => {
    const functionId = `Host.Functions.${functionName}`;
    const lockKey = tableKeyText(`locks:${ids.hostId}:${functionId}.Listener`);
    const rowKey = tableKeyText(functionId);
    let held: TableLease | null = null;
    return {
      async lock(seconds) {
        held = await leases.acquire(lockKey, ids.instanceId, seconds);
        return held !== null;
      },
      async unlock() {
        if (held) await leases.release(held);
        held = null;
      },
      async status() {
        const row = await statuses.get(partition, rowKey);
        if (!row) return null;
        const { last, next, lastUpdated } = row.value;
        return { status: { last, next, lastUpdated }, etag: row.etag };
      },
      async record(status, expected) {
        const row: StatusRow = { partitionKey: partition, rowKey, ...status };
        try {
          const etag = expected ? await statuses.replace(row, expected.etag) : await statuses.insert(row);
          return { status, etag };
        } catch (error) {
          if (error instanceof VersionConflictError) return null;
          throw error;
        }
      },
    };
  };
}
