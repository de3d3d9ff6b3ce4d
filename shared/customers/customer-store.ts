import type { Customer, CustomerState, LicenseType } from './customer.js';

/** What the customers hold of the provider's licenses: one tenant license each, and their Licensed Users. */
export interface LicenseAllocation {
  readonly customers: number;
  readonly users: number;
}

export interface VersionedAllocation {
  readonly allocation: LicenseAllocation;
  /** `null` before the first customer was ever created. */
  readonly etag: string | null;
}

export interface NewCustomer {
  readonly fullName: string;
  readonly shortName: string;
  readonly licenseType: LicenseType;
  readonly licensedUsers: number;
  readonly state: CustomerState;
  readonly at: string;
}

/** The Tenants page's activity columns: "Queued commands", "Executing commands", "Replication in progress". */
export interface CustomerActivity {
  readonly queuedCommands: number;
  readonly executingCommands: number;
  readonly replicationInProgress: boolean;
}

export const IDLE: CustomerActivity = {
  queuedCommands: 0,
  executingCommands: 0,
  replicationInProgress: false,
};

/**
 * What is kept beside a customer without being part of it: changing it never changes the customer's ETag, so a
 * portal holding that ETag is not refused because a task moved or a replication ran.
 */
export interface CustomerSummary {
  readonly activity: CustomerActivity;
  readonly lastReplicationAt: string | null;
  /** Lower-case; null when no channel has the customer. */
  readonly channelId: string | null;
}

export const EMPTY_SUMMARY: CustomerSummary = { activity: IDLE, lastReplicationAt: null, channelId: null };

/**
 * A customer as read for a change, with the version of its stored row (the customer, its summary, and so its index
 * rows): what a commit writes the change against, so that the customer and its copies never disagree.
 */
export interface CustomerRecord {
  readonly customer: Customer;
  readonly summary: CustomerSummary;
  /** The stored row's ETag, which a change of the summary moves too (the customer's own ETag does not move then). */
  readonly rowEtag: string;
}

export type CustomerChanges = Partial<Pick<Customer, 'licenseType' | 'licensedUsers' | 'state'>> & {
  readonly at: string;
};

/** Writes of customers committed together, all or nothing; each update guarded by the version its record was read at. */
export interface CustomerCommit {
  readonly inserts?: readonly NewCustomer[];
  readonly updates?: readonly { readonly record: CustomerRecord; readonly changes: CustomerChanges }[];
  /** Replaces the allocation row, guarded by `etag` (null: it must not exist yet). */
  readonly allocation?: { readonly value: LicenseAllocation; readonly etag: string | null };
}

/** A row of the Tenants list: the customer (unversioned) with its summary. */
export type CustomerListItem = Omit<Customer, 'etag'> & {
  readonly key: string;
  readonly activity: CustomerActivity;
  readonly channelId: string | null;
};

export interface CustomerFilter {
  readonly state?: CustomerState;
  readonly licenseType?: LicenseType;
  readonly channelId?: string;
  /** Words, each the prefix of a word of the Full Name or Short Name (normalized: see search-words.ts). */
  readonly words?: readonly string[];
  /** Only these customers (lower-case keys): a channel's or customer admin's own. */
  readonly keys?: ReadonlySet<string>;
}

export interface CustomerListPage {
  readonly items: readonly CustomerListItem[];
  /** The key to continue after, when more customers match. */
  readonly nextKey: string | null;
}

/**
 * A change to a customer's summary, each part an absolute value of its own writer (the task counts, the cycle, the
 * last replication, the channel), so that writers of different parts never undo each other; `lastReplicationAt`
 * only ever moves forward.
 */
export interface SummaryChange {
  readonly counts?: Pick<CustomerActivity, 'queuedCommands' | 'executingCommands'>;
  readonly replicationInProgress?: boolean;
  readonly lastReplicationAt?: string;
  readonly channelId?: string | null;
}

/**
 * Customers and the license allocation they hold, written together atomically so that neither a duplicate
 * Short Name nor an over-allocation can slip through between two concurrent requests. A write that loses a race
 * (the Short Name is taken, the customer or the allocation changed) throws a VersionConflictError and writes nothing.
 */
export interface CommitResult {
  readonly inserted: Customer[];
  readonly updated: Customer[];
  readonly indexed: Promise<void>;
}

export interface CustomerStore {
  getAllocation(): Promise<VersionedAllocation>;
  get(shortName: string): Promise<Customer | null>;
  /**
   * One page of the Tenants list, in Short Name order (case-insensitively) after `afterKey`, with each customer's
   * summary: a constant number of storage queries whatever the page size, answered from an index when filtered.
   */
  page(query: {
    readonly top: number;
    readonly afterKey?: string;
    readonly filter?: CustomerFilter;
  }): Promise<CustomerListPage>;
  /** Every customer, for the reconciliation. */
  list(): AsyncIterable<CustomerListItem>;
  /** The customer with its summary's version, for a change to commit; null when there is none. */
  read(shortName: string): Promise<CustomerRecord | null>;
  /**
   * Commits the inserts, the updates and the allocation in one transaction (their actions together, see
   * insertActions and updateActions, stay under MAX_TRANSACTION_ACTIONS); returns the customers in the order given.
   * `indexed` settles (never rejects) once the list's filters and search find them as committed: the caller answers
   * after it, so that its next list shows its change, without holding up the next commit.
   */
  commit(write: CustomerCommit): Promise<CommitResult>;
  /** How many transaction actions inserting this customer takes (its row and its summary's). */
  insertActions(customer: NewCustomer): number;
  /** How many transaction actions this change to the customer takes (its row and its summary's). */
  updateActions(record: CustomerRecord, changes: CustomerChanges): number;
  /** Applies a change to the customer (guarded by its ETag), alone: one that holds no licenses. */
  update(current: Customer, changes: CustomerChanges): Promise<Customer>;
  /**
   * Applies absolute values to the customer's summary (and its index rows), leaving the customer row alone.
   * Idempotent; an unknown customer (removed meanwhile) is no error and gets no summary.
   */
  updateSummary(shortName: string, change: SummaryChange): Promise<void>;
  /**
   * Rewrites every summary and index row that differs from what `truth` says of its customer, and deletes those
   * of customers that are gone. Returns how many customers needed a repair.
   */
  reconcile(truth: (customer: CustomerListItem) => Promise<CustomerSummary>): Promise<number>;
  /** Deletes the customer (guarded by its ETag) and replaces the allocation, both or neither. */
  remove(current: Customer, allocation: LicenseAllocation, allocationEtag: string | null): Promise<void>;
}
