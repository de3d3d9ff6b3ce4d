import type { ReplicationStore } from '../replication/replication-store.js';
import type { TaskStore } from '../tasks/task-store.js';
import type { TaskState } from '../tasks/task-record.js';
import type { CustomerActivity, CustomerStore, CustomerSummary } from './customer-store.js';

/** More than this many shows as this many: the column says "busy", the Queued Tasks page has the rest. */
export const COUNT_CAP = 100;

export interface CustomerActivityDeps {
  readonly store: Pick<CustomerStore, 'updateSummary' | 'reconcile'>;
  readonly tasks: Pick<TaskStore, 'list'>;
  readonly replication: Pick<ReplicationStore, 'status' | 'cycle'>;
  readonly channelOf: (customerId: string) => Promise<string | null>;
}

/**
 * Keeps each customer's summary (the Tenants list's activity columns, last replication and channel) next to the
 * customer, so that listing needs no read per row. Every write is an absolute value recomputed from the truth
 * (a recount, the cycle's presence), so a repeated or late note does no harm; a note lost to a crash leaves the
 * summary stale until the periodic reconciliation recomputes it.
 */
export interface CustomerActivityRecorder {
  /** After a task of the customer was created or changed State: its tasks are counted again. */
  tasksChanged(customerId: string): Promise<void>;
  /** A replication cycle started (true) or ended (false). */
  cycleChanged(customerId: string, inProgress: boolean): Promise<void>;
  /** A replication cycle completed at `at`. */
  replicated(customerId: string, at: string): Promise<void>;
  channelChanged(customerId: string, channelId: string | null): Promise<void>;
  /** Recomputes every customer's summary and repairs those that are wrong; returns how many were. */
  reconcile(): Promise<number>;
}

export function createCustomerActivity(deps: CustomerActivityDeps): CustomerActivityRecorder {
  async function count(customerId: string, state: TaskState): Promise<number> {
    return (await deps.tasks.list({ customerId, state, top: COUNT_CAP })).tasks.length;
  }

  async function taskCounts(
    customerId: string,
  ): Promise<Pick<CustomerActivity, 'queuedCommands' | 'executingCommands'>> {
    const [queued, postponed, reserved, executing] = await Promise.all([
      count(customerId, 'queued'),
      count(customerId, 'queue-postponed'),
      count(customerId, 'reserved'),
      count(customerId, 'executing'),
    ]);
    return {
      // A task postponed by the customer's upgrade is still a queued command: it runs after the upgrade.
      queuedCommands: Math.min(COUNT_CAP, queued + postponed),
      executingCommands: Math.min(COUNT_CAP, reserved + executing),
    };
  }

  async function truth(customerId: string): Promise<CustomerSummary> {
    const [cycle, status, channelId] = await Promise.all([
      deps.replication.cycle(customerId),
      deps.replication.status(customerId),
      deps.channelOf(customerId),
    ]);
    return {
      activity: { ...(await taskCounts(customerId)), replicationInProgress: cycle !== null },
      lastReplicationAt: status?.lastSyncAt ?? null,
      channelId: channelId?.toLowerCase() ?? null,
    };
  }

  return {
    async tasksChanged(customerId) {
      await deps.store.updateSummary(customerId, { counts: await taskCounts(customerId) });
    },
    cycleChanged: (customerId, inProgress) =>
      deps.store.updateSummary(customerId, { replicationInProgress: inProgress }),
    replicated: (customerId, at) => deps.store.updateSummary(customerId, { lastReplicationAt: at }),
    channelChanged: (customerId, channelId) =>
      deps.store.updateSummary(customerId, { channelId: channelId?.toLowerCase() ?? null }),
    reconcile: () => deps.store.reconcile((customer) => truth(customer.id)),
  };
}
