import type { TableClient, TransactionAction } from '@azure/data-tables';
import { lazyTable, restStatus } from '../storage/table-client.js';
import { CUSTOMER_STATES, type Customer, LICENSE_TYPES } from './customer.js';
import {
  type CustomerStore,
  type LicenceAllocation,
  type NewCustomer,
  StoreConflictError,
  type VersionedAllocation,
} from './customer-store.js';
import { shortNameKey } from './short-name.js';

export const CUSTOMERS_TABLE = 'customers';
/** One partition holds the provider's customers and their allocation, so both can change in one transaction. */
const PARTITION = 'provider';
/** Sorts after every Short Name key, which holds only letters, digits and hyphens. */
const ALLOCATION_ROW = '~licence-allocation';

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

export function createTableCustomerStore(connectionString: string): CustomerStore {
  const table = lazyTable(connectionString, CUSTOMERS_TABLE);

  async function submit(client: TableClient, actions: TransactionAction[]): Promise<string> {
    try {
      const response = await client.submitTransaction(actions);
      return response.subResponses[0]?.etag ?? '';
    } catch (error) {
      throw translateConflict(error);
    }
  }

  function allocationAction(value: LicenceAllocation, etag: string | null): TransactionAction {
    const entity: AllocationEntity = { partitionKey: PARTITION, rowKey: ALLOCATION_ROW, ...value };
    return etag === null ? ['create', entity] : ['update', entity, 'Replace', { etag }];
  }

  return {
    async getAllocation(): Promise<VersionedAllocation> {
      const client = await table();
      try {
        const entity = await client.getEntity<AllocationEntity>(PARTITION, ALLOCATION_ROW);
        return { allocation: { customers: entity.customers, users: entity.users }, etag: entity.etag };
      } catch (error) {
        if (restStatus(error) === 404) return { allocation: { customers: 0, users: 0 }, etag: null };
        throw error;
      }
    },

    async get(shortName) {
      const client = await table();
      try {
        return toCustomer(await client.getEntity<CustomerEntity>(PARTITION, shortNameKey(shortName)));
      } catch (error) {
        if (restStatus(error) === 404) return null;
        throw error;
      }
    },

    async *list(options = {}) {
      const client = await table();
      const after = options.afterKey ?? '';
      const entities = client.listEntities<CustomerEntity>({
        queryOptions: {
          filter: `PartitionKey eq '${PARTITION}' and RowKey gt '${escapeOData(after)}' and RowKey lt '~'`,
        },
      });
      for await (const entity of entities) yield { ...toCustomer(entity), key: entity.rowKey };
    },

    async insert(customer: NewCustomer, allocation, allocationEtag) {
      const client = await table();
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
      const etag = await submit(client, [['create', entity], allocationAction(allocation, allocationEtag)]);
      return toCustomer({ ...entity, etag });
    },

    async update(current, changes, allocation) {
      const client = await table();
      const { at, ...fields } = changes;
      const entity = {
        partitionKey: PARTITION,
        rowKey: shortNameKey(current.shortName),
        ...fields,
        updatedAt: at,
      };
      const actions: TransactionAction[] = [['update', entity, 'Merge', { etag: current.etag }]];
      if (allocation) actions.push(allocationAction(allocation.value, allocation.etag));
      const etag = await submit(client, actions);
      return { ...current, ...fields, updatedAt: at, etag };
    },

    async remove(current, allocation, allocationEtag) {
      const client = await table();
      await submit(client, [
        // A transaction's delete is unconditional; a customer Ready for remove no longer changes (the service refuses).
        ['delete', { partitionKey: PARTITION, rowKey: shortNameKey(current.shortName) }],
        allocationAction(allocation, allocationEtag),
      ]);
    },
  };
}

/**
 * A transaction fails as a whole; the failing sub-request's index leads the service's message ("0:" is the
 * customer, "1:" the allocation), which tells a duplicate Short Name from a lost race on the allocation.
 */
function translateConflict(error: unknown): unknown {
  const status = restStatus(error);
  if (status !== 409 && status !== 412 && status !== 404) return error;
  const onAllocation = /^\s*1:/m.test(error instanceof Error ? error.message : '');
  if (onAllocation) return new StoreConflictError('allocation_changed');
  return new StoreConflictError(status === 409 ? 'customer_exists' : 'customer_changed');
}

function escapeOData(value: string): string {
  return value.replaceAll("'", "''");
}

function toCustomer(entity: CustomerEntity & { etag: string }): Customer {
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
    etag: entity.etag,
  };
}
