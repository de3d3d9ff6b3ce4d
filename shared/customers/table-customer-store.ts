import {
  type Stored,
  type Tables,
  type TransactionAction,
  withOptimisticRetry,
} from '../storage/versioned-table.js';
import { CUSTOMER_STATES, type Customer, LICENSE_TYPES } from './customer.js';
import {
  type CustomerStore,
  type LicenseAllocation,
  type NewCustomer,
  type VersionedAllocation,
} from './customer-store.js';
import { shortNameKey } from './short-name.js';

export const CUSTOMERS_TABLE = 'customers';
/** One partition holds the provider's customers and their allocation, so both can change in one transaction. */
const PARTITION = 'provider';
/** Sorts after every Short Name key, which holds only letters, digits and hyphens. */
const ALLOCATION_ROW = '~license-allocation';

type CustomerEntity = {
  partitionKey: string;
  rowKey: string;
  shortName: string;
  fullName: string;
  licenseType: string;
  licensedUsers: number;
  state: string;
  createdAt: string;
  updatedAt: string;
  lastReplicationAt?: string;
};

type AllocationEntity = {
  partitionKey: string;
  rowKey: string;
  customers: number;
  users: number;
};

export function createCustomerStore(tables: Tables): CustomerStore {
  const customers = tables.table<CustomerEntity>(CUSTOMERS_TABLE);
  const allocations = tables.table<AllocationEntity>(CUSTOMERS_TABLE);
  const both = tables.table<CustomerEntity | AllocationEntity>(CUSTOMERS_TABLE);

  function allocationAction(
    value: LicenseAllocation,
    etag: string | null,
  ): TransactionAction<AllocationEntity> {
    const row: AllocationEntity = { partitionKey: PARTITION, rowKey: ALLOCATION_ROW, ...value };
    return etag === null ? { kind: 'insert', row } : { kind: 'replace', row, etag };
  }

  return {
    async getAllocation(): Promise<VersionedAllocation> {
      const found = await allocations.get(PARTITION, ALLOCATION_ROW);
      if (!found) return { allocation: { customers: 0, users: 0 }, etag: null };
      return { allocation: { customers: found.value.customers, users: found.value.users }, etag: found.etag };
    },

    async get(shortName) {
      const found = await customers.get(PARTITION, shortNameKey(shortName));
      return found ? toCustomer(found) : null;
    },

    async *list(options = {}) {
      const rows = customers.list({
        partitionKey: PARTITION,
        rowKey: { gt: options.afterKey ?? '', lt: '~' },
      });
      for await (const row of rows) yield { ...toCustomer(row), key: row.value.rowKey };
    },

    async insert(customer: NewCustomer, allocation, allocationEtag) {
      const entity: CustomerEntity = {
        partitionKey: PARTITION,
        rowKey: shortNameKey(customer.shortName),
        shortName: customer.shortName,
        fullName: customer.fullName,
        licenseType: customer.licenseType,
        licensedUsers: customer.licensedUsers,
        state: customer.state,
        createdAt: customer.at,
        updatedAt: customer.at,
      };
      const [etag = ''] = await both.transaction([
        { kind: 'insert', row: entity },
        allocationAction(allocation, allocationEtag),
      ]);
      return toCustomer({ value: entity, etag });
    },

    async update(current, changes, allocation) {
      const { at, ...fields } = changes;
      const next: Customer = { ...current, ...fields, updatedAt: at };
      const actions: TransactionAction<CustomerEntity | AllocationEntity>[] = [
        { kind: 'replace', row: toEntity(next), etag: current.etag },
      ];
      if (allocation) actions.push(allocationAction(allocation.value, allocation.etag));
      const [etag = ''] = await both.transaction(actions);
      return { ...next, etag };
    },

    async noteReplication(shortName, at) {
      await withOptimisticRetry(async () => {
        const found = await customers.get(PARTITION, shortNameKey(shortName));
        if (!found || (found.value.lastReplicationAt ?? '') >= at) return;
        // Not an edit: updatedAt stays the operator's last change.
        await customers.replace({ ...found.value, lastReplicationAt: at }, found.etag);
      });
    },

    async remove(current, allocation, allocationEtag) {
      await both.transaction([
        // A transaction's delete is unconditional; a customer Ready for remove no longer changes (the service refuses).
        { kind: 'delete', partitionKey: PARTITION, rowKey: shortNameKey(current.shortName) },
        allocationAction(allocation, allocationEtag),
      ]);
    },
  };
}

function toEntity(customer: Customer): CustomerEntity {
  return {
    partitionKey: PARTITION,
    rowKey: shortNameKey(customer.shortName),
    shortName: customer.shortName,
    fullName: customer.fullName,
    licenseType: customer.licenseType,
    licensedUsers: customer.licensedUsers,
    state: customer.state,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
    ...(customer.lastReplicationAt ? { lastReplicationAt: customer.lastReplicationAt } : {}),
  };
}

function toCustomer({ value: entity, etag }: Stored<CustomerEntity>): Customer {
  const licenseType = LICENSE_TYPES.find((t) => t === entity.licenseType);
  const state = CUSTOMER_STATES.find((s) => s === entity.state);
  if (!licenseType || !state)
    throw new Error(`Stored customer ${entity.rowKey} has an unknown license type or state.`);
  return {
    id: entity.shortName,
    fullName: entity.fullName,
    shortName: entity.shortName,
    licenseType,
    licensedUsers: entity.licensedUsers,
    state,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
    lastReplicationAt: entity.lastReplicationAt ?? null,
    etag,
  };
}
