import { describe, expect, it } from 'vitest';
import { type CustomerService, createCustomerService } from '../../shared/customers/customer-service.js';
import { CUSTOMERS_TABLE, createCustomerStore } from '../../shared/customers/table-customer-store.js';
import { DomainError } from '../../shared/errors/domain-errors.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import { countingTables } from '../support/counting-tables.js';
import { faultyTables } from '../support/faulty-tables.js';

const customer = (i: number, licensedUsers = 10) => ({
  fullName: `Customer ${i} Ltd`,
  shortName: `cust${i}`,
  licenseType: 'hosted-pro' as const,
  licensedUsers,
});

const codeOf = (error: unknown) => (error instanceof DomainError ? error.code : String(error));

/** Settles every create and sorts the outcomes: created Short Names, and the refusals' problem codes. */
async function outcomes(creates: Promise<{ shortName: string }>[]) {
  const settled = await Promise.allSettled(creates);
  const created = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.shortName] : []));
  const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  return { created, refused };
}

describe('the license pool under concurrent creates', () => {
  it('gives out exactly the tenant licenses there are; the rest hear that none is left', async () => {
    const store = createCustomerStore(memoryTables());
    const customers = createCustomerService({ store, license: { tenantCount: 37, userCount: 100_000 } });
    const { created, refused } = await outcomes(
      Array.from({ length: 250 }, (_, i) => customers.create(customer(i))),
    );
    expect(created).toHaveLength(37);
    expect(refused).toHaveLength(213);
    for (const error of refused) {
      expect(codeOf(error)).toBe('tenant_licenses_exhausted');
      expect((error as Error).message).toMatch(/A Tenant License is a mandatory requirement/);
    }
    expect((await store.getAllocation()).allocation).toEqual({ customers: 37, users: 370 });
  });

  it('never lets the user pool be exceeded, with several processes racing on the same allocation', async () => {
    const store = createCustomerStore(memoryTables());
    const license = { tenantCount: 1000, userCount: 555 };
    // Three Function App instances: each groups its own creates, and they race on the allocation row's ETag.
    const [a, b, c] = [1, 2, 3].map(() => createCustomerService({ store, license })) as [
      CustomerService,
      CustomerService,
      CustomerService,
    ];
    const instance = (i: number) => [a, b, c][i % 3] ?? a;
    const { created, refused } = await outcomes(
      Array.from({ length: 120 }, (_, i) => instance(i).create(customer(i, 10))),
    );
    expect(created).toHaveLength(55);
    for (const error of refused) expect(codeOf(error)).toBe('user_licenses_exhausted');
    const { allocation } = await store.getAllocation();
    expect(allocation).toEqual({ customers: 55, users: 550 });
    // The allocation is what the customers hold: nothing was counted for a create that was refused.
    let held = 0;
    for await (const c of store.list()) held += c.licensedUsers;
    expect(held).toBe(550);
  });

  it('splits a burst into transactions Azure accepts, however many index rows each customer brings', async () => {
    const store = createCustomerStore(memoryTables());
    const customers = createCustomerService({ store, license: { tenantCount: 1000, userCount: 100_000 } });
    const wordy = (i: number) => ({
      ...customer(i),
      fullName: `Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett ${i}`,
    });
    const { created, refused } = await outcomes(
      Array.from({ length: 150 }, (_, i) => customers.create(wordy(i))),
    );
    expect(refused).toEqual([]);
    expect(created).toHaveLength(150);
    expect((await store.getAllocation()).allocation).toEqual({ customers: 150, users: 1500 });
  });

  it('refuses a taken Short Name alone; the creates grouped with it are made', async () => {
    const store = createCustomerStore(memoryTables());
    const customers = createCustomerService({ store, license: { tenantCount: 100, userCount: 10_000 } });
    await customers.create(customer(3));
    const { created, refused } = await outcomes([
      ...[1, 2, 3, 4].map((i) => customers.create(customer(i))),
      customers.create({ ...customer(1), shortName: 'CUST1' }),
    ]);
    expect(created.sort()).toEqual(['cust1', 'cust2', 'cust4']);
    expect(refused).toHaveLength(2);
    for (const error of refused) expect(codeOf(error)).toBe('short_name_taken');
    expect((await store.getAllocation()).allocation).toEqual({ customers: 4, users: 40 });
  });

  it('keeps the pool total right when storage fails mid-burst: a failed group holds nothing', async () => {
    let transactions = 0;
    const tables = faultyTables(
      memoryTables(),
      (call) => call.table === CUSTOMERS_TABLE && call.operation === 'transaction' && ++transactions === 2,
    );
    const store = createCustomerStore(tables);
    const customers = createCustomerService({ store, license: { tenantCount: 500, userCount: 100_000 } });
    const { created, refused } = await outcomes(
      Array.from({ length: 300 }, (_, i) => customers.create(customer(i, 3))),
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(created.length + refused.length).toBe(300);
    let count = 0;
    let users = 0;
    for await (const c of store.list()) {
      count++;
      users += c.licensedUsers;
    }
    expect(count).toBe(created.length);
    expect((await store.getAllocation()).allocation).toEqual({ customers: count, users });
  });
});

/** Sums what the customers hold, to compare with the allocation row. */
async function held(store: ReturnType<typeof createCustomerStore>) {
  let customers = 0;
  let users = 0;
  for await (const c of store.list()) {
    customers++;
    users += c.licensedUsers;
  }
  return { customers, users };
}

describe('the license pool under concurrent changes of Licensed Users', () => {
  it('commits concurrent changes of different customers together, not one allocation race each', async () => {
    const counter = countingTables(memoryTables());
    const store = createCustomerStore(counter.tables);
    const customers = createCustomerService({ store, license: { tenantCount: 100, userCount: 10_000 } });
    await outcomes(Array.from({ length: 60 }, (_, i) => customers.create(customer(i, 5))));
    let changed: Awaited<ReturnType<typeof outcomes>> | undefined;
    const calls = await counter.count(async () => {
      changed = await outcomes(
        Array.from({ length: 60 }, (_, i) => customers.updateLicensedUsers(`cust${i}`, 20)),
      );
    });
    expect(changed?.refused).toEqual([]);
    expect(changed?.created).toHaveLength(60);
    // Without groups each change is a transaction of its own, and most lose the race on the allocation row first.
    const commits = calls.filter((c) => c.table === CUSTOMERS_TABLE && c.operation === 'transaction');
    expect(commits.length).toBeLessThanOrEqual(10);
    expect((await store.getAllocation()).allocation).toEqual({ customers: 60, users: 1200 });
    for (let i = 0; i < 60; i++) expect((await customers.get(`cust${i}`)).licensedUsers).toBe(20);
  });

  it('never lets the user pool be exceeded, with several processes changing customers at once', async () => {
    const store = createCustomerStore(memoryTables());
    const license = { tenantCount: 1000, userCount: 400 };
    const [a, b, c] = [1, 2, 3].map(() => createCustomerService({ store, license })) as [
      CustomerService,
      CustomerService,
      CustomerService,
    ];
    const instance = (i: number) => [a, b, c][i % 3] ?? a;
    await outcomes(Array.from({ length: 50 }, (_, i) => a.create(customer(i, 5))));
    // 150 users are free: every fifth customer drops to 1 (freeing 40), the 40 others ask for 7 more each.
    const wanted = (i: number) => (i % 5 === 0 ? 1 : 12);
    const settled = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => instance(i).updateLicensedUsers(`cust${i}`, wanted(i))),
    );
    const refused = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [[i, s.reason as unknown] as const] : [],
    );
    for (const [i, error] of refused) {
      expect(i % 5).not.toBe(0);
      expect(codeOf(error)).toBe('user_licenses_exhausted');
    }
    // 21 increases fit before the decreases, 27 after them all: however the changes interleave, nothing more.
    expect(refused.length).toBeGreaterThanOrEqual(40 - 27);
    expect(refused.length).toBeLessThanOrEqual(40 - 21);
    const { allocation } = await store.getAllocation();
    expect(allocation).toEqual(await held(store));
    expect(allocation.users).toBeLessThanOrEqual(400);
  });

  it('answers a stale If-Match with 412 and leaves the rest of the group to be made', async () => {
    const store = createCustomerStore(memoryTables());
    const customers = createCustomerService({ store, license: { tenantCount: 100, userCount: 10_000 } });
    const [first] = await Promise.all([customers.create(customer(1)), customers.create(customer(2))]);
    await customers.updateLicensedUsers('cust1', 11);
    const [stale, other] = await Promise.allSettled([
      customers.updateLicensedUsers('cust1', 12, first.etag),
      customers.updateLicensedUsers('cust2', 12),
    ]);
    expect(stale.status === 'rejected' && codeOf(stale.reason)).toBe('precondition_failed');
    expect(other.status === 'fulfilled' && other.value.licensedUsers).toBe(12);
    expect((await store.getAllocation()).allocation).toEqual(await held(store));
  });
});

describe('the license pool under concurrent upgrades', () => {
  it('takes Licensed Users from 0 to N with the License Type, never beyond the pool', async () => {
    const store = createCustomerStore(memoryTables());
    const license = { tenantCount: 1000, userCount: 100 };
    const [a, b, c] = [1, 2, 3].map(() => createCustomerService({ store, license })) as [
      CustomerService,
      CustomerService,
      CustomerService,
    ];
    const instance = (i: number) => [a, b, c][i % 3] ?? a;
    for (let i = 0; i < 30; i++) {
      await a.create({
        fullName: `Ess ${i}`,
        shortName: `ess${i}`,
        licenseType: 'hosted-essentials',
        licensedUsers: 0,
      });
    }
    // 30 Hosted Essentials customers ask for 8 users each from a pool of 100, from three processes at once.
    const settled = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        instance(i).upgrade(`ess${i}`, {
          licenseType: i % 2 ? 'hosted-pro' : 'hosted-essentials-plus',
          licensedUsers: 8,
        }),
      ),
    );
    const upgraded = settled.filter((s) => s.status === 'fulfilled');
    expect(upgraded).toHaveLength(12);
    for (const s of settled)
      if (s.status === 'rejected') expect(codeOf(s.reason)).toBe('user_licenses_exhausted');
    let essentials = 0;
    for await (const item of store.list()) {
      if (item.licenseType === 'hosted-essentials') {
        essentials++;
        expect(item.licensedUsers).toBe(0);
      } else expect(item.licensedUsers).toBe(8);
    }
    expect(essentials).toBe(18);
    expect((await store.getAllocation()).allocation).toEqual({ customers: 30, users: 96 });
    // An upgrade made is settled: asked again, it changes nothing and takes nothing.
    const done = settled.findIndex((s) => s.status === 'fulfilled');
    await instance(done).upgrade(`ess${done}`, {
      licenseType: done % 2 ? 'hosted-pro' : 'hosted-essentials-plus',
      licensedUsers: 8,
    });
    expect((await store.getAllocation()).allocation.users).toBe(96);
  });
});
