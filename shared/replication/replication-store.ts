import { shortNameKey } from '../customers/short-name.js';
import { lazyTable, restStatus } from '../storage/table-client.js';
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
  const table = lazyTable(connectionString, REPLICATION_TABLE);
  const key = (customerId: string) => shortNameKey(customerId);

  async function read<T>(partition: string, rowKey: string): Promise<{ value: T; etag: string } | null> {
    const client = await table();
    try {
      const entity = await client.getEntity<DocEntity>(partition, rowKey);
      return { value: JSON.parse(unpackText(entity)) as T, etag: entity.etag };
    } catch (error) {
      if (restStatus(error) === 404) return null;
      throw error;
    }
  }

  const entityOf = (
    partition: string,
    rowKey: string,
    value: unknown,
    extra: Record<string, unknown> = {},
  ) => ({
    partitionKey: partition,
    rowKey,
    ...extra,
    ...packText(JSON.stringify(value)),
  });

  /** Read, change, write back; another writer in between makes it start over. */
  async function update<T>(partition: string, rowKey: string, change: (current: T | null) => T): Promise<T> {
    const client = await table();
    for (let attempt = 1; ; attempt++) {
      const current = await read<T>(partition, rowKey);
      const next = change(current?.value ?? null);
      try {
        if (current) {
          await client.updateEntity(entityOf(partition, rowKey, next), 'Replace', { etag: current.etag });
        } else {
          await client.createEntity(entityOf(partition, rowKey, next));
        }
        return next;
      } catch (error) {
        const status = restStatus(error);
        if ((status !== 412 && status !== 409) || attempt >= 20) throw error;
      }
    }
  }

  async function acquire(
    partition: Lease['partition'],
    rowKey: string,
    holder: string,
    seconds: number,
  ): Promise<Lease | null> {
    const client = await table();
    const expiresAt = now().getTime() + seconds * 1000;
    const entity = { partitionKey: partition, rowKey, holder, expiresAt: new Date(expiresAt).toISOString() };
    try {
      const existing = await client.getEntity<DocEntity>(partition, rowKey);
      const held = Date.parse(String(existing.expiresAt)) > now().getTime() && existing.holder !== holder;
      if (held) return null;
      const response = await client.updateEntity(entity, 'Replace', { etag: existing.etag });
      return { partition, key: rowKey, holder, etag: response.etag ?? '', expiresAt };
    } catch (error) {
      const status = restStatus(error);
      if (status === 412) return null;
      if (status !== 404) throw error;
    }
    try {
      const response = await client.createEntity(entity);
      return { partition, key: rowKey, holder, etag: response.etag ?? '', expiresAt };
    } catch (error) {
      if (restStatus(error) === 409) return null;
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
      const client = await table();
      for await (const entity of client.listEntities<DocEntity>({
        queryOptions: { filter: `PartitionKey eq 'status'` },
      })) {
        yield JSON.parse(unpackText(entity)) as ReplicationStatus;
      }
    },

    async cycle(customerId: string): Promise<{ value: CycleState; etag: string } | null> {
      return read<CycleState>('cycle', key(customerId));
    },

    /** Null when a cycle exists already. */
    async createCycle(customerId: string, cycle: CycleState): Promise<string | null> {
      const client = await table();
      try {
        return (await client.createEntity(entityOf('cycle', key(customerId), cycle))).etag ?? '';
      } catch (error) {
        if (restStatus(error) === 409) return null;
        throw error;
      }
    },

    /** Saves the checkpoint if nobody changed it since `etag`; returns the new ETag. */
    async saveCycle(customerId: string, cycle: CycleState, etag: string): Promise<string> {
      const client = await table();
      try {
        const response = await client.updateEntity(entityOf('cycle', key(customerId), cycle), 'Replace', {
          etag,
        });
        return response.etag ?? '';
      } catch (error) {
        const status = restStatus(error);
        if (status === 412 || status === 404) throw new CycleFencedError(`Cycle ${cycle.id} was taken over.`);
        throw error;
      }
    },

    async deleteCycle(customerId: string, etag: string): Promise<void> {
      const client = await table();
      try {
        await client.deleteEntity('cycle', key(customerId), { etag });
      } catch (error) {
        const status = restStatus(error);
        if (status === 412) throw new CycleFencedError('The cycle was taken over.');
        if (status !== 404) throw error;
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
      const client = await table();
      try {
        const entity = await client.getEntity<DocEntity>('lease', key(customerId));
        const until = Date.parse(String(entity.expiresAt));
        return until > now().getTime() ? until : 0;
      } catch (error) {
        if (restStatus(error) === 404) return 0;
        throw error;
      }
    },

    async renew(lease: Lease, seconds: number): Promise<Lease> {
      const client = await table();
      const expiresAt = now().getTime() + seconds * 1000;
      try {
        const response = await client.updateEntity(
          {
            partitionKey: lease.partition,
            rowKey: lease.key,
            holder: lease.holder,
            expiresAt: new Date(expiresAt).toISOString(),
          },
          'Replace',
          { etag: lease.etag },
        );
        return { ...lease, etag: response.etag ?? '', expiresAt };
      } catch (error) {
        if (restStatus(error) === 412 || restStatus(error) === 404) {
          throw new LeaseLostError(`The ${lease.partition} lease ${lease.key} was taken over.`);
        }
        throw error;
      }
    },

    /** Gives the lease back (expired at once); a lease taken over meanwhile stays with its new holder. */
    async release(lease: Lease): Promise<void> {
      const client = await table();
      try {
        await client.updateEntity(
          {
            partitionKey: lease.partition,
            rowKey: lease.key,
            holder: '',
            expiresAt: new Date(0).toISOString(),
          },
          'Replace',
          { etag: lease.etag },
        );
      } catch (error) {
        if (restStatus(error) !== 412 && restStatus(error) !== 404) throw error;
      }
    },

    async noteChange(customerId: string, at: string): Promise<void> {
      const client = await table();
      await client.upsertEntity({ partitionKey: 'change', rowKey: key(customerId), at }, 'Replace');
    },

    async lastChange(customerId: string): Promise<string | null> {
      const client = await table();
      try {
        return String((await client.getEntity<DocEntity>('change', key(customerId))).at);
      } catch (error) {
        if (restStatus(error) === 404) return null;
        throw error;
      }
    },

    async putDrift(customerId: string, report: unknown): Promise<void> {
      const client = await table();
      await client.upsertEntity(entityOf('drift', key(customerId), report), 'Replace');
    },

    async drift<T>(customerId: string): Promise<T | null> {
      return (await read<T>('drift', key(customerId)))?.value ?? null;
    },

    /** Everything replication keeps about a customer. */
    async forget(customerId: string): Promise<void> {
      const client = await table();
      for (const partition of ['status', 'cycle', 'lease', 'change', 'drift']) {
        try {
          await client.deleteEntity(partition, key(customerId));
        } catch (error) {
          if (restStatus(error) !== 404) throw error;
        }
      }
    },
  };
}

export type ReplicationStore = ReturnType<typeof createReplicationStore>;
