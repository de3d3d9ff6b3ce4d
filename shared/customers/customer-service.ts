import { type DomainError, domainErrors } from '../errors/domain-errors.js';
import type { CreateCustomerInput, Customer, CustomerUpgrade, UpgradeLicenseType } from './customer.js';
import { refuseUnlessEssentials, refuseWhileBeingRemoved, usesLicensedUsers } from './customer.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { MAX_TRANSACTION_ACTIONS, withOptimisticRetry } from '../storage/versioned-table.js';
import type {
  CustomerFilter,
  CustomerListItem,
  CustomerRecord,
  CustomerStore,
  LicenseAllocation,
} from './customer-store.js';
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
  /** What refuses this upgrade now (the customer is not Hosted Essentials, the pool is short); changes nothing. */
  checkUpgrade(id: string, upgrade: CustomerUpgrade): Promise<Customer>;
  /**
   * Upgrade Customer's change: the License Type and the Licensed Users taken from the pool, in one write with the
   * allocation (committed in the Licensed Users changes' groups). Settled once the customer has that License Type.
   */
  upgrade(id: string, upgrade: CustomerUpgrade): Promise<Customer>;
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

interface Settlement<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

/** A write that changes the licenses held, waiting for its group's commit. */
type PendingChange =
  | (Settlement<Customer> & {
      readonly kind: 'create';
      readonly key: string;
      readonly input: CreateCustomerInput;
      readonly actions: number;
    })
  | (Settlement<Customer> & {
      readonly kind: 'licensed-users';
      readonly key: string;
      readonly licensedUsers: number;
      /** An upgrade's new License Type, written with the Licensed Users. */
      readonly licenseType?: UpgradeLicenseType;
      readonly ifMatch: string | undefined;
      /** The customer as last read; a conflict reads it again. */
      record: CustomerRecord;
      actions: number;
    });

/**
 * The next group: the oldest waiting changes whose actions fit one transaction beside the allocation row (Azure's
 * 100), each customer once (a repeat waits for the next group). The first always goes, so none waits forever.
 */
function takeGroup(waiting: PendingChange[]): PendingChange[] {
  const keys = new Set<string>();
  const group: PendingChange[] = [];
  let room = MAX_TRANSACTION_ACTIONS - 1;
  for (let i = 0; i < waiting.length;) {
    const pending = waiting[i] as PendingChange;
    if (keys.has(pending.key) || (group.length > 0 && pending.actions > room)) {
      i++;
      continue;
    }
    keys.add(pending.key);
    room -= pending.actions;
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

  /** The customer as read for a change, with its row's version. */
  async function readOrThrow(id: string): Promise<CustomerRecord> {
    const record = await store.read(id);
    if (!record) throw domainErrors.notFound(`There is no customer with the Short Name "${id}".`);
    return record;
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
   * Licensed Users (and, for an upgrade, the License Type) changed in the next group commit, guarded by `ifMatch`;
   * the customer as it is when nothing changes.
   */
  async function changeLicensedUsers(
    id: string,
    licensedUsers: number,
    ifMatch: string | undefined,
    licenseType?: UpgradeLicenseType,
  ): Promise<Customer> {
    const record = await readOrThrow(id);
    checkVersion(record.customer, ifMatch);
    const actions = licensedUsersChange(record, licensedUsers, now().toISOString(), licenseType);
    if (actions === null) return record.customer;
    return new Promise<Customer>((resolve, reject) =>
      enqueue({
        kind: 'licensed-users',
        key: shortNameKey(id),
        licensedUsers,
        ...(licenseType ? { licenseType } : {}),
        ifMatch,
        record,
        actions,
        resolve,
        reject,
      }),
    );
  }

  /**
   * What a change of Licensed Users (with `licenseType`, an upgrade's) does to `record`: nothing (settled: the same
   * value, or the upgrade made), or the number of the transaction's actions it takes. Throws what refuses it whatever
   * the pool holds.
   */
  function licensedUsersChange(
    record: CustomerRecord,
    licensedUsers: number,
    at: string,
    licenseType?: UpgradeLicenseType,
  ): number | null {
    const { customer } = record;
    refuseWhileBeingRemoved(customer);
    if (licenseType !== undefined) {
      if (customer.licenseType === licenseType) return null;
      refuseUnlessEssentials(customer);
      return store.updateActions(record, { licenseType, licensedUsers, at });
    }
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
    if (customer.licensedUsers === licensedUsers) return null;
    return store.updateActions(record, { licensedUsers, at });
  }

  /**
   * Writes that change the licenses held (creates, Licensed Users) wait here and are committed in groups: one
   * allocation read and one transaction (as many as fit beside the allocation row) per group, so a burst of them in
   * this process costs a few writes instead of one race per write on the allocation row's ETag. Other processes
   * still race on that ETag and retry with jitter.
   */
  const waiting: PendingChange[] = [];
  let committing = false;

  function enqueue(pending: PendingChange): void {
    waiting.push(pending);
    if (!committing) void commitWaiting();
  }

  function create(input: CreateCustomerInput): Promise<Customer> {
    return new Promise<Customer>((resolve, reject) => {
      const actions = store.insertActions({
        ...input,
        state: 'ready-for-deployment',
        at: now().toISOString(),
      });
      enqueue({ kind: 'create', key: shortNameKey(input.shortName), input, actions, resolve, reject });
    });
  }

  async function commitWaiting(): Promise<void> {
    committing = true;
    try {
      while (waiting.length > 0) await commitGroup(takeGroup(waiting));
    } finally {
      committing = false;
    }
  }

  /** The allocation after `pending`, or what refuses it (the pool does not stretch that far). */
  function allocateFor(allocation: LicenseAllocation, pending: PendingChange): LicenseAllocation {
    return pending.kind === 'create'
      ? allocate(license, allocation, { customers: 1, users: pending.input.licensedUsers })
      : allocate(license, allocation, {
          customers: 0,
          users: pending.licensedUsers - pending.record.customer.licensedUsers,
        });
  }

  /**
   * After a lost race: settles the changes that can no longer succeed (a taken Short Name, a customer gone or
   * changed under an If-Match, a change made moot) and returns the rest, each Licensed Users change read again.
   * Changes whose actions no longer fit the group go back to the front of the queue.
   */
  async function afterConflict(open: readonly PendingChange[], tried: ReadonlySet<PendingChange>) {
    const fresh = await Promise.all(
      open.map(async (pending) => {
        if (pending.kind === 'create') {
          // One taken Short Name fails the whole transaction: its create is refused, the others try again.
          const taken = tried.has(pending) ? await store.get(pending.input.shortName) : null;
          if (taken) pending.reject(shortNameTaken(pending.input.shortName, taken.shortName));
          return !taken;
        }
        const record = await store.read(pending.key);
        const id = pending.record.customer.shortName;
        if (!record) {
          pending.reject(domainErrors.notFound(`There is no customer with the Short Name "${id}".`));
          return false;
        }
        // A caller who sent If-Match named the version they meant to change: if the customer changed meanwhile, their
        // copy is stale (412). A caller who sent none asked for the last writer to win: the change goes on.
        if (
          pending.ifMatch !== undefined &&
          pending.ifMatch !== '*' &&
          record.customer.etag !== pending.record.customer.etag
        ) {
          pending.reject(
            domainErrors.versionMismatch(
              `Customer "${id}" was changed by someone else meanwhile; reload it.`,
            ),
          );
          return false;
        }
        try {
          const actions = licensedUsersChange(
            record,
            pending.licensedUsers,
            now().toISOString(),
            pending.licenseType,
          );
          if (actions === null) {
            pending.resolve(record.customer);
            return false;
          }
          pending.record = record;
          pending.actions = actions;
          return true;
        } catch (error) {
          pending.reject(error);
          return false;
        }
      }),
    );
    const kept = open.filter((_, i) => fresh[i]);
    let room = MAX_TRANSACTION_ACTIONS - 1;
    const fitting = kept.filter((pending, i) => {
      room -= pending.actions;
      return i === 0 || room >= 0;
    });
    waiting.unshift(...kept.filter((pending) => !fitting.includes(pending)));
    return fitting;
  }

  /** Settles every change of the group: made, refused (licenses, Short Name, version) or failed with the storage error. */
  async function commitGroup(group: readonly PendingChange[]): Promise<void> {
    let open = group;
    try {
      await withOptimisticRetry(async () => {
        const { allocation, etag } = await store.getAllocation();
        // In arrival order: while the pool lasts every change fits; the first that does not is refused.
        let next = allocation;
        const fitting: PendingChange[] = [];
        const refused: Array<readonly [PendingChange, unknown]> = [];
        for (const pending of open) {
          try {
            next = allocateFor(next, pending);
            fitting.push(pending);
          } catch (error) {
            refused.push([pending, error]);
          }
        }
        try {
          const at = now().toISOString();
          const creates = fitting.flatMap((p) => (p.kind === 'create' ? [p] : []));
          const changes = fitting.flatMap((p) => (p.kind === 'licensed-users' ? [p] : []));
          const { inserted, updated, indexed } =
            fitting.length === 0
              ? { inserted: [], updated: [], indexed: Promise.resolve() }
              : await store.commit({
                  inserts: creates.map((p) => ({ ...p.input, state: 'ready-for-deployment' as const, at })),
                  updates: changes.map((p) => ({
                    record: p.record,
                    changes: {
                      licensedUsers: p.licensedUsers,
                      ...(p.licenseType !== undefined ? { licenseType: p.licenseType } : {}),
                      at,
                    },
                  })),
                  allocation: { value: next, etag },
                });
          // Answered once the list's filters and search show them; the next group commits meanwhile.
          void indexed.then(() => {
            creates.forEach((pending, i) => {
              const customer = inserted[i];
              if (customer) pending.resolve(customer);
            });
            changes.forEach((pending, i) => {
              const customer = updated[i];
              if (customer) pending.resolve(customer);
            });
          });
          for (const [pending, error] of refused) pending.reject(error);
          open = [];
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
          open = await afterConflict(open, new Set(fitting));
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
      return changeLicensedUsers(id, licensedUsers, ifMatch);
    },

    async checkUpgrade(id, upgrade) {
      const customer = await getOrThrow(id);
      refuseWhileBeingRemoved(customer);
      refuseUnlessEssentials(customer);
      allocate(license, (await store.getAllocation()).allocation, {
        customers: 0,
        users: upgrade.licensedUsers - customer.licensedUsers,
      });
      return customer;
    },

    async upgrade(id, { licenseType, licensedUsers }) {
      return changeLicensedUsers(id, licensedUsers, undefined, licenseType);
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
