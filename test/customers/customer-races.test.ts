import { describe, expect, it } from 'vitest';
import { createCustomerService } from '../../shared/customers/customer-service.js';
import type { Customer } from '../../shared/customers/customer.js';
import type { CustomerStore } from '../../shared/customers/customer-store.js';
import { createCustomerStore } from '../../shared/customers/table-customer-store.js';
import { isDomainError } from '../../shared/errors/domain-errors.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';

/**
 * A store whose first update is overtaken: just before it writes, someone else edits the same customer, so the
 * write meets a newer version than it read, as two portal tabs saving at once would.
 */
function overtakenOnce(store: CustomerStore): CustomerStore {
  let overtaken = false;
  const overtake = async (customer: Customer) => {
    if (overtaken) return;
    overtaken = true;
    await store.update(customer, { licensedUsers: customer.licensedUsers, at: new Date().toISOString() });
  };
  return Object.assign(Object.create(store) as CustomerStore, {
    update: (async (customer, changes) => {
      await overtake(customer);
      return store.update(customer, changes);
    }) satisfies CustomerStore['update'],
    commit: (async (write) => {
      const first = write.updates?.[0];
      if (first) await overtake(first.record.customer);
      return store.commit(write);
    }) satisfies CustomerStore['commit'],
  });
}

async function setUp() {
  const store = createCustomerStore(memoryTables());
  const plain = createCustomerService({ store, license: { tenantCount: 10, userCount: 100 } });
  const created = await plain.create({
    fullName: 'Racy Ltd',
    shortName: 'Racy',
    licenseType: 'hosted-pro',
    licensedUsers: 5,
  });
  const racing = createCustomerService({
    store: overtakenOnce(store),
    license: { tenantCount: 10, userCount: 100 },
  });
  return { plain, racing, created };
}

describe('a customer write overtaken by another', () => {
  it('without If-Match, applies the change on a fresh read (last writer wins), never 412', async () => {
    const { racing, plain } = await setUp();
    const updated = await racing.updateLicensedUsers('Racy', 7);
    expect(updated.licensedUsers).toBe(7);
    expect((await plain.get('Racy')).licensedUsers).toBe(7);
  });

  it('without If-Match, marks the customer for removal all the same', async () => {
    const { racing } = await setUp();
    expect((await racing.markForRemoval('Racy')).state).toBe('ready-for-remove');
  });

  it('with the If-Match the caller read, answers 412: the version they named is gone', async () => {
    const { racing, created } = await setUp();
    const error = await racing.updateLicensedUsers('Racy', 7, created.etag).catch((e: unknown) => e);
    expect(isDomainError(error, 'version_mismatch')).toBe(true);
  });
});
