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

/**
 * Customers and the license allocation they hold, written together atomically so that neither a duplicate
 * Short Name nor an over-allocation can slip through between two concurrent requests. A write that loses a race
 * (the Short Name is taken, the customer or the allocation changed) throws a VersionConflictError and writes nothing.
 */
export interface CustomerStore {
  getAllocation(): Promise<VersionedAllocation>;
  get(shortName: string): Promise<Customer | null>;
  /** Customers ordered by Short Name (case-insensitively), starting after `afterKey`. */
  list(options?: { afterKey?: string }): AsyncIterable<Customer & { readonly key: string }>;
  /** Creates the customer and replaces the allocation, both or neither. */
  insert(
    customer: NewCustomer,
    allocation: LicenseAllocation,
    allocationEtag: string | null,
  ): Promise<Customer>;
  /** Applies a change to the customer (guarded by its ETag) and, when given, replaces the allocation, both or neither. */
  update(
    current: Customer,
    changes: Partial<Pick<Customer, 'licensedUsers' | 'state'>> & { readonly at: string },
    allocation?: { readonly value: LicenseAllocation; readonly etag: string | null },
  ): Promise<Customer>;
  /**
   * Records when the customer's replication last completed. Idempotent and monotonic: an older or equal time (a
   * cycle's end noted twice, a late writer) changes nothing; an unknown customer (removed meanwhile) is no error.
   */
  noteReplication(shortName: string, at: string): Promise<void>;
  /** Deletes the customer (guarded by its ETag) and replaces the allocation, both or neither. */
  remove(current: Customer, allocation: LicenseAllocation, allocationEtag: string | null): Promise<void>;
}
