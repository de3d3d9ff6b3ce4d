import { type DomainError, domainErrors } from '../errors/domain-errors.js';
import type { CreateCustomerInput, Customer } from './customer.js';
import { refuseWhileBeingRemoved, usesLicensedUsers } from './customer.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { MAX_TRANSACTION_ACTIONS, withOptimisticRetry } from '../storage/versioned-table.js';
import type { CustomerFilter, CustomerListItem, CustomerStore, LicenseAllocation } from './customer-store.js';
import { shortNameKey } from './short-name.js';
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
  /** The licenses still available: the allocation row alone, for whoever needs no customers with them. */
  availability(): Promise<LicenseAvailability>;
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

interface PendingCreate {
  readonly input: CreateCustomerInput;
  readonly resolve: (customer: Customer) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The next group: the oldest waiting creates whose actions fit one transaction beside the allocation row (Azure's
 * 100), each Short Name once (a repeat waits for the next group). The first always goes, so none waits forever.
 */
function takeGroup(
  waiting: PendingCreate[],
  actionsOf: (input: CreateCustomerInput) => number,
): PendingCreate[] {
  const keys = new Set<string>();
  const group: PendingCreate[] = [];
  let room = MAX_TRANSACTION_ACTIONS - 1;
  for (let i = 0; i < waiting.length;) {
    const pending = waiting[i] as PendingCreate;
    const key = shortNameKey(pending.input.shortName);
    const actions = actionsOf(pending.input);
    if (keys.has(key) || (group.length > 0 && actions > room)) {
      i++;
      continue;
    }
    keys.add(key);
    room -= actions;
    group.push(pending);
    waiting.splice(i, 1);
    if (room <= 0) break;
  }
  return group;
}

function shortNameTaken(requested: string, existing: string): DomainError {
  return domainErrors.conflict(
    'short_name_taken',
    'Short Name already in use',
    `The Short Name "${requested}" is already used by customer "${existing}"; Short Names are unique without regard to case.`,
    [{ field: 'shortName', in: 'body', code: 'short_name_taken', message: 'Unique name per customer.' }],
  );
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

  /**
   * Creates wait here and are committed in groups: one allocation read and one transaction (as many customers as fit
   * beside the allocation row) per group, so a burst of creates in this process costs a few writes instead of one race per
   * create on the allocation row's ETag. Other processes still race on that ETag and retry with jitter.
   */
  const waiting: PendingCreate[] = [];
  let committing = false;
  const actionsOf = (input: CreateCustomerInput) =>
    store.insertActions({ ...input, state: 'ready-for-deployment', at: now().toISOString() });

  function create(input: CreateCustomerInput): Promise<Customer> {
    return new Promise<Customer>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (!committing) void commitWaiting();
    });
  }

  async function commitWaiting(): Promise<void> {
    committing = true;
    try {
      while (waiting.length > 0) await commitGroup(takeGroup(waiting, actionsOf));
    } finally {
      committing = false;
    }
  }

  /** Settles every create of the group: created, refused (licenses, Short Name) or failed with the storage error. */
  async function commitGroup(group: readonly PendingCreate[]): Promise<void> {
    let open = group;
    try {
      await withOptimisticRetry(async () => {
        const { allocation, etag } = await store.getAllocation();
        // In arrival order: while the pool lasts every create fits; the first that does not is refused.
        let next = allocation;
        const fitting: PendingCreate[] = [];
        const refused: Array<readonly [PendingCreate, unknown]> = [];
        for (const pending of open) {
          try {
            next = allocate(license, next, { customers: 1, users: pending.input.licensedUsers });
            fitting.push(pending);
          } catch (error) {
            refused.push([pending, error]);
          }
        }
        try {
          const at = now().toISOString();
          const created =
            fitting.length === 0
              ? []
              : await store.insert(
                  fitting.map((p) => ({ ...p.input, state: 'ready-for-deployment' as const, at })),
                  next,
                  etag,
                );
          fitting.forEach((pending, i) => {
            const customer = created[i];
            if (customer) pending.resolve(customer);
          });
          for (const [pending, error] of refused) pending.reject(error);
          open = [];
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
          // One taken Short Name fails the whole transaction: its create is refused, the others try again.
          const existing = await Promise.all(fitting.map((p) => store.get(p.input.shortName)));
          open = open.filter((pending) => {
            const taken = existing[fitting.indexOf(pending)];
            if (taken) pending.reject(shortNameTaken(pending.input.shortName, taken.shortName));
            return !taken;
          });
          throw error;
        }
      }, RETRY);
    } catch (error) {
      for (const pending of open) pending.reject(error);
    }
  }

  return {
    create,

    async list({ filter, top, afterKey }) {
      const [page, { allocation }] = await Promise.all([
        store.page({ top, ...(afterKey ? { afterKey } : {}), ...(filter ? { filter } : {}) }),
        store.getAllocation(),
      ]);
      return { customers: page.items, nextKey: page.nextKey, ...availability(license, allocation) };
    },

    async availability() {
      return availability(license, (await store.getAllocation()).allocation);
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
