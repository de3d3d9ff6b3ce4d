import { domainErrors } from '../errors/domain-errors.js';
import type { CreateCustomerInput, Customer } from './customer.js';
import { refuseWhileBeingRemoved, usesLicensedUsers } from './customer.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { withOptimisticRetry } from '../storage/versioned-table.js';
import type { CustomerFilter, CustomerListItem, CustomerStore, LicenseAllocation } from './customer-store.js';
import { allocate, availability, type LicenseAvailability, type LicenseLimits } from './license-pool.js';

export interface CustomerListQuery {
  readonly filter?: CustomerFilter;
  readonly top: number;
  readonly afterKey?: string;
}

export interface CustomerPage extends LicenseAvailability {
  readonly customers: readonly CustomerListItem[];
  /** The key to continue after, when more customers match. */
  readonly nextKey: string | null;
}

export interface CustomerService {
  create(input: CreateCustomerInput): Promise<Customer>;
  list(query: CustomerListQuery): Promise<CustomerPage>;
  get(id: string): Promise<Customer>;
  updateLicensedUsers(id: string, licensedUsers: number, ifMatch?: string): Promise<Customer>;
  /** Delete: the customer moves to "Ready for remove"; its licenses stay held until removal completes. */
  markForRemoval(id: string, ifMatch?: string): Promise<Customer>;
  /** Onboarding moves the State: Ready for Deployment → Deploying → Deployed. */
  setState(id: string, state: 'ready-for-deployment' | 'deploying' | 'deployed'): Promise<Customer>;
  /** The removal task's last step: the customer is gone and its licenses return to the pool. Idempotent. */
  completeRemoval(id: string): Promise<void>;
}

export interface CustomerServiceOptions {
  readonly store: CustomerStore;
  readonly license: LicenseLimits;
  readonly now?: () => Date;
}

/** Optimistic concurrency retries; each loser re-reads, so a handful is plenty even for a burst. */
const RETRY = { attempts: 20, baseDelayMs: 10, maxDelayMs: 200 } as const;

export function createCustomerService({
  store,
  license,
  now = () => new Date(),
}: CustomerServiceOptions): CustomerService {
  async function getOrThrow(id: string): Promise<Customer> {
    const customer = await store.get(id);
    if (!customer) throw domainErrors.notFound(`There is no customer with the Short Name "${id}".`);
    return customer;
  }

  function checkVersion(customer: Customer, ifMatch: string | undefined): void {
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== customer.etag) {
      throw domainErrors.versionMismatch(
        `Customer "${customer.shortName}" was changed since you read it; reload it.`,
      );
    }
  }

  /**
   * A write to `customer` that lost its race. A caller who sent If-Match named the version they meant to change: when
   * the customer itself changed meanwhile, their copy is stale (412). A caller who sent none asked for the last
   * writer to win, so the conflict is thrown on for a retry on a fresh read, as when only the allocation changed:
   * they never see a 412 for a precondition they did not set.
   */
  async function writing<T>(
    id: string,
    customer: Customer,
    ifMatch: string | undefined,
    write: () => Promise<T>,
  ): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (
        error instanceof VersionConflictError &&
        ifMatch !== undefined &&
        ifMatch !== '*' &&
        (await store.get(id))?.etag !== customer.etag
      ) {
        throw domainErrors.versionMismatch(
          `Customer "${id}" was changed by someone else meanwhile; reload it.`,
        );
      }
      throw error;
    }
  }

  return {
    async create(input) {
      return withOptimisticRetry(async () => {
        const { allocation, etag } = await store.getAllocation();
        const next = allocate(license, allocation, { customers: 1, users: input.licensedUsers });
        try {
          return await store.insert(
            { ...input, state: 'ready-for-deployment', at: now().toISOString() },
            next,
            etag,
          );
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
          const existing = await store.get(input.shortName);
          // Otherwise only the allocation changed: the conflict is retried.
          if (!existing) throw error;
          throw domainErrors.conflict(
            'short_name_taken',
            'Short Name already in use',
            `The Short Name "${input.shortName}" is already used by customer "${existing.shortName}"; Short Names are unique without regard to case.`,
            [
              {
                field: 'shortName',
                in: 'body',
                code: 'short_name_taken',
                message: 'Unique name per customer.',
              },
            ],
          );
        }
      }, RETRY);
    },

    async list({ filter, top, afterKey }) {
      const [page, { allocation }] = await Promise.all([
        store.page({ top, ...(afterKey ? { afterKey } : {}), ...(filter ? { filter } : {}) }),
        store.getAllocation(),
      ]);
      return { customers: page.items, nextKey: page.nextKey, ...availability(license, allocation) };
    },

    get: getOrThrow,

    async updateLicensedUsers(id, licensedUsers, ifMatch) {
      let first = true;
      return withOptimisticRetry(async () => {
        const customer = await getOrThrow(id);
        if (first) checkVersion(customer, ifMatch);
        first = false;
        refuseWhileBeingRemoved(customer);
        if (!usesLicensedUsers(customer.licenseType)) {
          throw domainErrors.validation([
            {
              field: 'licensedUsers',
              in: 'body',
              code: 'licensed_users_not_applicable',
              message: 'Hosted Essentials customers have no licensed users.',
            },
          ]);
        }
        if (customer.licensedUsers === licensedUsers) return customer;
        const { allocation, etag } = await store.getAllocation();
        const next: LicenseAllocation = allocate(license, allocation, {
          customers: 0,
          users: licensedUsers - customer.licensedUsers,
        });
        return writing(id, customer, ifMatch, () =>
          store.update(customer, { licensedUsers, at: now().toISOString() }, { value: next, etag }),
        );
      }, RETRY);
    },

    async markForRemoval(id, ifMatch) {
      let first = true;
      return withOptimisticRetry(async () => {
        const customer = await getOrThrow(id);
        if (first) checkVersion(customer, ifMatch);
        first = false;
        if (customer.state === 'ready-for-remove') return customer;
        return writing(id, customer, ifMatch, () =>
          store.update(customer, { state: 'ready-for-remove', at: now().toISOString() }),
        );
      }, RETRY);
    },

    async setState(id, state) {
      return withOptimisticRetry(async () => {
        const customer = await getOrThrow(id);
        refuseWhileBeingRemoved(customer);
        if (customer.state === state) return customer;
        return store.update(customer, { state, at: now().toISOString() });
      }, RETRY);
    },

    async completeRemoval(id) {
      await withOptimisticRetry(async () => {
        const customer = await store.get(id);
        if (!customer) return;
        const { allocation, etag } = await store.getAllocation();
        const users = usesLicensedUsers(customer.licenseType) ? customer.licensedUsers : 0;
        await store.remove(
          customer,
          { customers: Math.max(0, allocation.customers - 1), users: Math.max(0, allocation.users - users) },
          etag,
        );
      }, RETRY);
    },
  };
}
