import { describe, expect, it } from 'vitest';
import { createCustomerService } from '../../shared/customers/customer-service.js';
import type { CustomerFilter } from '../../shared/customers/customer-store.js';
import {
  CUSTOMER_FILTERS_TABLE,
  CUSTOMER_WORDS_TABLE,
  CUSTOMERS_TABLE,
  createCustomerStore,
} from '../../shared/customers/table-customer-store.js';
import { memoryTables } from '../../shared/storage/memory-tables.js';
import type { TableRow, Tables, VersionedTable } from '../../shared/storage/versioned-table.js';
import { faultyTables } from '../support/faulty-tables.js';

const LICENSE = { tenantCount: 100, userCount: 10_000 };
const newCustomer = (shortName: string, fullName = `${shortName} Ltd`) => ({
  fullName,
  shortName,
  licenseType: 'hosted-pro' as const,
  licensedUsers: 5,
});

/** Tables whose next upsert of a row in `partition` of `table` waits, once armed, until released: a slow write. */
function gatedTables(inner: Tables, table: string, partition: string) {
  let armed = false;
  let reached: () => void = () => undefined;
  let release: () => void = () => undefined;
  const gate = {
    arm() {
      armed = true;
      const hit = new Promise<void>((resolve) => (reached = resolve));
      const open = new Promise<void>((resolve) => (release = resolve));
      return { hit, open: () => release(), opened: open };
    },
  };
  let opened: Promise<void> = Promise.resolve();
  const tables: Tables = {
    table<T extends TableRow>(name: string): VersionedTable<T> {
      const own = inner.table<T>(name);
      if (name !== table) return own;
      return Object.assign(Object.create(own) as VersionedTable<T>, {
        upsert: async (...args: Parameters<VersionedTable<T>['upsert']>) => {
          if (armed && args[0].partitionKey === partition) {
            armed = false;
            reached();
            await opened;
          }
          return own.upsert(...args);
        },
      });
    },
  };
  return {
    tables,
    arm() {
      const armedGate = gate.arm();
      opened = armedGate.opened;
      return armedGate;
    },
  };
}

async function keys(store: ReturnType<typeof createCustomerStore>, filter: CustomerFilter) {
  return (await store.page({ top: 100, filter })).items.map((item) => item.shortName);
}

describe('the Tenants list index, in tables of its own', () => {
  it('ends as the customer is when an older index write lands after a newer one', async () => {
    const gated = gatedTables(memoryTables(), CUSTOMER_FILTERS_TABLE, 'channel!north');
    const store = createCustomerStore(gated.tables);
    await createCustomerService({ store, license: LICENSE }).create(newCustomer('Racer'));

    const gate = gated.arm();
    const older = store.updateSummary('Racer', { channelId: 'north' });
    await gate.hit;
    // The newer change commits and writes its index while the older write still hangs.
    await store.updateSummary('Racer', { channelId: 'south' });
    expect(await keys(store, { channelId: 'south' })).toEqual(['Racer']);
    gate.open();
    await older;

    expect(await keys(store, { channelId: 'north' })).toEqual([]);
    expect(await keys(store, { channelId: 'south' })).toEqual(['Racer']);
    expect((await store.page({ top: 10, filter: { words: ['racer'] } })).items[0]?.channelId).toBe('south');
  });

  it('after a crash between the commit and the index write, filters and search catch up at the reconciliation', async () => {
    let indexDown = false;
    const index = [CUSTOMER_WORDS_TABLE, CUSTOMER_FILTERS_TABLE];
    const store = createCustomerStore(
      faultyTables(memoryTables(), (call) => indexDown && index.includes(call.table)),
    );
    const customers = createCustomerService({ store, license: LICENSE });
    indexDown = true;
    // The customer is made (its row, summary and licenses are one transaction); only its copies are missing.
    const made = await customers.create(newCustomer('Lately', 'Lately Voice'));
    indexDown = false;
    expect(made.shortName).toBe('Lately');
    expect(await keys(store, {})).toEqual(['Lately']);
    expect(await keys(store, { state: 'ready-for-deployment' })).toEqual([]);
    expect(await keys(store, { words: ['voice'] })).toEqual([]);

    const idle = { queuedCommands: 0, executingCommands: 0, replicationInProgress: false };
    const truth = async () => ({ activity: idle, lastReplicationAt: null, channelId: null });
    expect(await store.reconcile(truth)).toBe(1);
    expect(await keys(store, { state: 'ready-for-deployment' })).toEqual(['Lately']);
    expect(await keys(store, { words: ['voice'] })).toEqual(['Lately']);
    expect(await store.reconcile(truth)).toBe(0);
  });

  it('keeps the removed customer out of filters and search, and the reconciliation deletes index rows of the former layout', async () => {
    const tables = memoryTables();
    const store = createCustomerStore(tables);
    const customers = createCustomerService({ store, license: LICENSE });
    await customers.create(newCustomer('Stays'));
    const gone = await customers.create(newCustomer('Goes'));
    const allocation = await store.getAllocation();
    await store.remove(gone, { customers: 1, users: 5 }, allocation.etag);
    expect(await keys(store, { state: 'ready-for-deployment' })).toEqual(['Stays']);
    expect(await keys(store, { words: ['goes'] })).toEqual([]);

    const rows = tables.table<TableRow & { key: string }>(CUSTOMERS_TABLE);
    await rows.upsert({ partitionKey: 'provider', rowKey: '~ix!state!deployed!stays', key: 'stays' });
    const idle = { queuedCommands: 0, executingCommands: 0, replicationInProgress: false };
    expect(
      await store.reconcile(async () => ({ activity: idle, lastReplicationAt: null, channelId: null })),
    ).toBe(0);
    expect(await rows.get('provider', '~ix!state!deployed!stays')).toBeNull();
    expect(await keys(store, {})).toEqual(['Stays']);
  });
});
