import { shortNameKey } from '../customers/short-name.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { azureTables } from '../storage/azure-tables.js';
import { type Tables, withOptimisticRetry } from '../storage/versioned-table.js';
import { packText, unpackText } from './table-text.js';

/**
 * Replication's own state, one table with a partition per kind of row:
 * - `status/{customer}`: last sync, delta links, counts, the last cycle's outcome;
 * - `cycle/{customer}`: the checkpoint of the cycle in progress (written after every page, ETag-guarded so that a
 *   holder that lost its lease cannot overwrite its successor's progress);
 * - `lease/{customer}`: who runs the customer's cycle, until when (never two cycles of one customer at once);
 * - `slot/{n}`: the N leases that cap cycles across customers (`REPLICATION_MAX_PARALLEL_CYCLES`);
 * - `change/{customer}`: when the product last changed the customer (QuickReplicationCycleDelay debounce);
 * - `drift/{customer}`: the last drift report.
 */
export const REPLICATION_TABLE = 'replication';
/** Triggers and continuations of replication cycles: `ReplicationMessage`s. */
export const REPLICATION_QUEUE = 'replication';

export type CycleKind = 'full' | 'quick';
export type TriggerReason = 'initial' | 'manual' | 'schedule' | 'change' | 'credentials';

export interface MirrorCounts {
  readonly users: number;
  readonly groups: number;
  readonly memberships: number;
  readonly voiceObjects: number;
}

export interface CycleCounters {
  /** Graph/Teams pages read. */
  pages: number;
  usersSeen: number;
  usersWritten: number;
  usersRemoved: number;
  groupsWritten: number;
  groupsRemoved: number;
  membershipChanges: number;
  voiceObjectsChanged: number;
}

/**
 * What a cycle went on without, shown with it: a voice object type the tenant's Teams admin API refused to list
 * (its mirrored objects were kept as they were, decision 78).
 */
export interface CycleWarning {
  readonly code: 'voice-policy-type-refused';
  readonly policyType: string;
  /** The service's HTTP status. */
  readonly status: number;
  /** The service's message. */
  readonly message: string;
}

export type CyclePhase =
  'users-latest' | 'teams-users' | 'users-delta' | 'teams-modified' | 'groups' | 'voice' | 'sweep' | 'drift';

export interface CycleState {
  readonly id: string;
  readonly kind: CycleKind;
  readonly reason: TriggerReason;
  readonly requestedAt: string;
  readonly startedAt: string;
  phase: CyclePhase;
  /** Where the phase continues: a nextLink; null at the phase's start. */
  next: string | null;
  /** Pages done in this phase (the full cycle's page marks are numbered by it). */
  phasePage: number;
  counters: CycleCounters;
  /** Links for the next quick cycle, committed when this cycle completes. */
  usersDelta: string | null;
  groupsDelta: string | null;
  /** Running totals the cycle sets at its end (a full cycle counts what it saw). */
  counts: MirrorCounts;
  lastProgressAt: string;
  /**
   * A full cycle that began on a mirror holding no user and no group: nothing in it can be stale, so it marks no
   * pages and sweeps nothing. Absent on checkpoints written before it existed (they sweep).
   */
  mirrorEmpty?: boolean;
  /** What the cycle went on without; absent on checkpoints written before warnings existed. */
  warnings?: CycleWarning[];
  /** Consecutive failed chunks; the cycle is abandoned after too many. */
  failures: number;
  lastError: string | null;
}

export interface CycleSummary {
  readonly id: string;
  readonly kind: CycleKind;
  readonly reason: TriggerReason;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly outcome: 'succeeded' | 'failed';
  readonly message: string | null;
  readonly counters: CycleCounters;
  /** Absent on summaries written before warnings existed. */
  readonly warnings?: readonly CycleWarning[];
}

export interface ReplicationStatus {
  readonly customerId: string;
  readonly lastSyncAt: string | null;
  readonly lastFullSyncAt: string | null;
  readonly lastFullStartedAt: string | null;
  readonly lastQuickStartedAt: string | null;
  readonly usersDelta: string | null;
  readonly groupsDelta: string | null;
  /** Teams user configurations modified since then are read again by the next quick cycle. */
  readonly teamsSince: string | null;
  readonly counts: MirrorCounts;
  readonly lastCycle: CycleSummary | null;
  /** A trigger waiting in the queue (the timer does not queue another meanwhile). */
  readonly queuedAt: string | null;
  readonly queuedKind: CycleKind | null;
  /** Why the last trigger did nothing (credentials not verified), if it did nothing. */
  readonly skipped: { readonly at: string; readonly message: string } | null;
}

export const EMPTY_COUNTS: MirrorCounts = { users: 0, groups: 0, memberships: 0, voiceObjects: 0 };

/** A new cycle's counters: a fresh object each time, since the cycle counts in place. */
export function emptyCounters(): CycleCounters {
  return {
    pages: 0,
    usersSeen: 0,
    usersWritten: 0,
    usersRemoved: 0,
    groupsWritten: 0,
    groupsRemoved: 0,
    membershipChanges: 0,
    voiceObjectsChanged: 0,
  };
}

export function emptyStatus(customerId: string): ReplicationStatus {
  return {
    customerId,
    lastSyncAt: null,
    lastFullSyncAt: null,
    lastFullStartedAt: null,
    lastQuickStartedAt: null,
    usersDelta: null,
    groupsDelta: null,
    teamsSince: null,
    counts: EMPTY_COUNTS,
    lastCycle: null,
    queuedAt: null,
    queuedKind: null,
    skipped: null,
  };
}

export interface Lease {
  readonly partition: 'lease' | 'slot';
  readonly key: string;
  readonly holder: string;
  readonly etag: string;
  readonly expiresAt: number;
}

/** The cycle's checkpoint changed under it: another holder took the customer over. */
export class CycleFencedError extends Error {
  override readonly name = 'CycleFencedError';
}

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

type DocEntity = { partitionKey: string; rowKey: string } & Record<string, unknown>;

export function createReplicationStore(connectionString: string, now: () => Date = () => new Date()) {
  return createReplicationStoreOn(azureTables(connectionString), now);
}

type LeaseEntity = { partitionKey: string; rowKey: string; holder: string; expiresAt: string };

export function createReplicationStoreOn(tables: Tables, now: () => Date = () => new Date()) {
  const docs = tables.table<DocEntity>(REPLICATION_TABLE);
  const leases = tables.table<LeaseEntity>(REPLICATION_TABLE);
  const changes = tables.table<DocEntity & { at: string }>(REPLICATION_TABLE);
  const key = (customerId: string) => shortNameKey(customerId);

  async function read<T>(partition: string, rowKey: string): Promise<{ value: T; etag: string } | null> {
    const found = await docs.get(partition, rowKey);
    return found ? { value: JSON.parse(unpackText(found.value)) as T, etag: found.etag } : null;
  }

  const entityOf = (partition: string, rowKey: string, value: unknown): DocEntity => ({
    partitionKey: partition,
    rowKey,
    ...packText(JSON.stringify(value)),
  });

  /** Read, change, write back; another writer in between makes it start over. */
  async function update<T>(partition: string, rowKey: string, change: (current: T | null) => T): Promise<T> {
    return withOptimisticRetry(
      async () => {
        const current = await read<T>(partition, rowKey);
        const next = change(current?.value ?? null);
        if (current) await docs.replace(entityOf(partition, rowKey, next), current.etag);
        else await docs.insert(entityOf(partition, rowKey, next));
        return next;
      },
      { attempts: 20, maxDelayMs: 200 },
    );
  }

  /** Null when another holder's lease has not expired, or another acquirer won the race. */
  async function acquire(
    partition: Lease['partition'],
    rowKey: string,
    holder: string,
    seconds: number,
  ): Promise<Lease | null> {
    const expiresAt = now().getTime() + seconds * 1000;
    const entity: LeaseEntity = {
      partitionKey: partition,
      rowKey,
      holder,
      expiresAt: new Date(expiresAt).toISOString(),
    };
    try {
      const existing = await leases.get(partition, rowKey);
      if (existing) {
        const held =
          Date.parse(existing.value.expiresAt) > now().getTime() && existing.value.holder !== holder;
        if (held) return null;
      }
      const etag = existing ? await leases.replace(entity, existing.etag) : await leases.insert(entity);
      return { partition, key: rowKey, holder, etag, expiresAt };
    } catch (error) {
      if (error instanceof VersionConflictError) return null;
      throw error;
    }
  }

  return {
    async status(customerId: string): Promise<ReplicationStatus | null> {
      return (await read<ReplicationStatus>('status', key(customerId)))?.value ?? null;
    },

    async updateStatus(
      customerId: string,
      change: (current: ReplicationStatus) => ReplicationStatus,
    ): Promise<ReplicationStatus> {
      return update<ReplicationStatus>('status', key(customerId), (current) =>
        change(current ?? emptyStatus(customerId)),
      );
    },

    async *statuses(): AsyncIterable<ReplicationStatus> {
      for await (const { value } of docs.list({ partitionKey: 'status' })) {
        yield JSON.parse(unpackText(value)) as ReplicationStatus;
      }
    },

    async cycle(customerId: string): Promise<{ value: CycleState; etag: string } | null> {
      return read<CycleState>('cycle', key(customerId));
    },

    /** Null when a cycle exists already. */
    async createCycle(customerId: string, cycle: CycleState): Promise<string | null> {
      try {
        return await docs.insert(entityOf('cycle', key(customerId), cycle));
      } catch (error) {
        if (error instanceof VersionConflictError) return null;
        throw error;
      }
    },

    /** Saves the checkpoint if nobody changed it since `etag`; returns the new ETag. */
    async saveCycle(customerId: string, cycle: CycleState, etag: string): Promise<string> {
      try {
        return await docs.replace(entityOf('cycle', key(customerId), cycle), etag);
      } catch (error) {
        if (error instanceof VersionConflictError)
          throw new CycleFencedError(`Cycle ${cycle.id} was taken over.`);
        throw error;
      }
    },

    async deleteCycle(customerId: string, etag: string): Promise<void> {
      try {
        await docs.delete('cycle', key(customerId), etag);
      } catch (error) {
        if (error instanceof VersionConflictError) throw new CycleFencedError('The cycle was taken over.');
        throw error;
      }
    },

    acquireCustomer(customerId: string, holder: string, seconds: number): Promise<Lease | null> {
      return acquire('lease', key(customerId), holder, seconds);
    },

    /** One of the `count` slots, tried in random order; null when all are held. */
    async acquireSlot(count: number, holder: string, seconds: number): Promise<Lease | null> {
      const order = Array.from({ length: count }, (_, i) => i).sort(() => Math.random() - 0.5);
      for (const index of order) {
        const lease = await acquire('slot', String(index).padStart(3, '0'), holder, seconds);
        if (lease) return lease;
      }
      return null;
    },

    /** When the lease on a customer ends (0 when nobody holds it). */
    async customerLeaseUntil(customerId: string): Promise<number> {
      const found = await leases.get('lease', key(customerId));
      const until = found ? Date.parse(found.value.expiresAt) : 0;
      return until > now().getTime() ? until : 0;
    },

    async renew(lease: Lease, seconds: number): Promise<Lease> {
      const expiresAt = now().getTime() + seconds * 1000;
      try {
        const etag = await leases.replace(
          {
            partitionKey: lease.partition,
            rowKey: lease.key,
            holder: lease.holder,
            expiresAt: new Date(expiresAt).toISOString(),
          },
          lease.etag,
        );
        return { ...lease, etag, expiresAt };
      } catch (error) {
        if (error instanceof VersionConflictError) {
          throw new LeaseLostError(`The ${lease.partition} lease ${lease.key} was taken over.`);
        }
        throw error;
      }
    },

    /** Gives the lease back (expired at once); a lease taken over meanwhile stays with its new holder. */
    async release(lease: Lease): Promise<void> {
      try {
        await leases.replace(
          {
            partitionKey: lease.partition,
            rowKey: lease.key,
            holder: '',
            expiresAt: new Date(0).toISOString(),
          },
          lease.etag,
        );
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    },

    async noteChange(customerId: string, at: string): Promise<void> {
      await changes.upsert({ partitionKey: 'change', rowKey: key(customerId), at });
    },

    async lastChange(customerId: string): Promise<string | null> {
      const found = await changes.get('change', key(customerId));
      return found ? String(found.value.at) : null;
    },

    async putDrift(customerId: string, report: unknown): Promise<void> {
      await docs.upsert(entityOf('drift', key(customerId), report));
    },

    async drift<T>(customerId: string): Promise<T | null> {
      return (await read<T>('drift', key(customerId)))?.value ?? null;
    },

    /**
     * Everything replication keeps about a customer; with `keepLease`, all but its lease, which the removal holds
     * until the customer is gone so that no cycle writes meanwhile.
     */
    async forget(customerId: string, options: { readonly keepLease?: boolean } = {}): Promise<void> {
      for (const partition of ['status', 'cycle', 'lease', 'change', 'drift']) {
        if (partition === 'lease' && options.keepLease) continue;
        await docs.delete(partition, key(customerId));
      }
    },
  };
}

export type ReplicationStore = ReturnType<typeof createReplicationStore>;
