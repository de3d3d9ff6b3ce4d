import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TaskPorts } from '../../functions/app.js';
import {
  CUSTOMER_FILTERS_TABLE,
  CUSTOMER_WORDS_TABLE,
  CUSTOMERS_TABLE,
} from '../../shared/customers/table-customer-store.js';
import type { TableRow } from '../../shared/storage/versioned-table.js';
import { type AnyTaskDefinition, defineTask } from '../../shared/tasks/task-definition.js';
import { apiClient } from '../support/api-client.js';
import { type CountingTables, countingTables } from '../support/counting-tables.js';
import { faultyTables } from '../support/faulty-tables.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

/** A task that only waits: queues are not delivered here, so it stays Queued. */
const definitions = [
  defineTask<{ note: string }>({
    type: 'SBCInit summary probe',
    input: z.strictObject({ note: z.string() }),
    steps: [{ name: 'Wait', run: async () => ({ done: true }) }],
  }),
] as unknown as AnyTaskDefinition<TaskPorts>[];

let stack: MemoryStack;
let counter: CountingTables;
let call: ReturnType<typeof apiClient>;
/** While true, every write to the customers table fails as an outage would: the "crash" after a task moved. */
let customersDown = false;

const CUSTOMERS = 120;
const name = (i: number) => `Cust${String(i).padStart(3, '0')}`;

beforeAll(async () => {
  stack = await startMemoryStack({
    deliverQueues: false,
    overrides: { taskDefinitions: definitions },
    wrapTables: (tables) => {
      counter = countingTables(
        faultyTables(
          tables,
          (c) => customersDown && c.table === CUSTOMERS_TABLE && c.operation === 'transaction',
        ),
      );
      return counter.tables;
    },
  });
  call = apiClient(stack.api, () => stack.token());
  for (let i = 0; i < CUSTOMERS; i++) {
    await stack.services.customers.create({
      fullName: i % 2 === 0 ? `Contoso Pharmacy ${i}` : `Fabrikam Ltd ${i}`,
      shortName: name(i),
      licenseType: i % 3 === 0 ? 'hosted-essentials' : 'hosted-pro',
      licensedUsers: i % 3 === 0 ? 0 : 1,
    });
  }
  expect((await call('PUT', '/api/v1/channels/north', { json: { name: 'North' } })).status).toBe(200);
  for (let i = 0; i < CUSTOMERS; i += 2) {
    const put = await call('PUT', `/api/v1/customers/${name(i)}/channel`, { json: { channelId: 'north' } });
    expect(put.status).toBe(200);
  }
}, 120_000);
afterAll(() => stack?.close());

interface ListItem {
  shortName: string;
  state: string;
  licenseType: string;
  activity: { queuedCommands: number; executingCommands: number; replicationInProgress: boolean };
}
interface ListBody {
  value: ListItem[];
  nextLink: string | null;
}

async function list(query: string): Promise<ListBody> {
  const response = await call('GET', `/api/v1/customers?${query}`);
  expect(response.status).toBe(200);
  return response.body as ListBody;
}

async function all(query: string): Promise<ListItem[]> {
  const items: ListItem[] = [];
  let next: string | null = `/api/v1/customers?${query}`;
  while (next) {
    const response = await call('GET', next);
    expect(response.status).toBe(200);
    const body = response.body as ListBody;
    items.push(...body.value);
    next = body.nextLink;
  }
  return items;
}

/** The customer's row on the unfiltered list, which reads the summary beside the customer. */
const item = async (shortName: string) =>
  (await list('top=500')).value.find((c) => c.shortName === shortName);

describe('The Tenants list reads no row twice', () => {
  it.each([
    ['no filter', ''],
    ['search', 'search=contoso%20pha'],
    ['state', 'state=ready-for-deployment'],
    ['license type', 'licenseType=hosted-pro'],
    ['channel', 'channelId=North'],
    ['everything', 'search=fab&licenseType=hosted-pro&state=ready-for-deployment'],
  ])('%s: a page of 100 costs the storage queries of a page of 10', async (_, query) => {
    const tenCalls = await counter.count(() => list(`${query}&top=10`));
    let hundred: ListBody | undefined;
    const hundredCalls = await counter.count(async () => (hundred = await list(`${query}&top=100`)));
    expect(hundred?.value.length).toBeGreaterThan(10);
    expect(hundredCalls.length).toBe(tenCalls.length);
    // The customers and their summaries (or an index) in one query, the license allocation in another.
    const customerTables = [CUSTOMERS_TABLE, CUSTOMER_WORDS_TABLE, CUSTOMER_FILTERS_TABLE];
    expect(hundredCalls.filter((c) => customerTables.includes(c.table)).length).toBeLessThanOrEqual(2);
    expect(hundredCalls.length).toBeLessThanOrEqual(4);
  });
});

describe('One customer', () => {
  it('is one point read of the customers table, whatever its summary holds', async () => {
    const calls = await counter.count(async () => {
      const response = await call('GET', `/api/v1/customers/${name(4)}`);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ shortName: name(4) });
    });
    expect(calls.filter((c) => c.table === CUSTOMERS_TABLE)).toHaveLength(1);
  });

  it('written in the former layout (a summary row of its own, no uid) is read, changed and folded by the reconciliation', async () => {
    const created = await stack.services.customers.create({
      fullName: 'Legacy Layout Ltd',
      shortName: 'Legacy',
      licenseType: 'hosted-pro',
      licensedUsers: 2,
    });
    const rows = stack.tables.table<TableRow & Record<string, string | number | boolean>>(CUSTOMERS_TABLE);
    const stored = await rows.get('provider', 'legacy');
    const {
      uid: _uid,
      version: _version,
      queuedCommands: _queued,
      executingCommands: _executing,
      replicationInProgress: _replicating,
      ...own
    } = stored?.value ?? { partitionKey: 'provider', rowKey: 'legacy' };
    await rows.upsert(own);
    await rows.upsert({
      partitionKey: 'provider',
      rowKey: 'legacy!summary',
      queuedCommands: 0,
      executingCommands: 0,
      replicationInProgress: false,
    });

    const read = await call('GET', '/api/v1/customers/Legacy');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ shortName: 'Legacy', licensedUsers: 2 });
    const etag = read.headers.get('etag') ?? '';
    expect(etag).not.toBe(created.etag.replace(/^W\//, ''));
    expect((await call('GET', '/api/v1/customers/Legacy')).headers.get('etag')).toBe(etag);
    expect((await all('search=legacy')).map((c) => c.shortName)).toEqual(['Legacy']);
    // A row without a uid reads with one of its own, the same everywhere, until its next write stores it.
    const { uid } = read.body as { uid: string };
    expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uid).not.toBe(created.uid);
    expect(((await call('GET', '/api/v1/customers/Legacy')).body as { uid: string }).uid).toBe(uid);

    const edited = await call('PATCH', '/api/v1/customers/Legacy', {
      json: { licensedUsers: 3 },
      headers: { 'if-match': etag },
    });
    expect(edited.status).toBe(200);
    expect(edited.headers.get('etag')).not.toBe(etag);

    await stack.services.customerActivity.reconcile();
    expect(await rows.get('provider', 'legacy!summary')).toBeNull();
    expect((await rows.get('provider', 'legacy'))?.value).toMatchObject({
      uid,
      licensedUsers: 3,
      queuedCommands: 0,
    });
    expect((await item('Legacy'))?.activity).toEqual({
      queuedCommands: 0,
      executingCommands: 0,
      replicationInProgress: false,
    });
    expect(
      (
        await call('DELETE', '/api/v1/customers/Legacy', {
          headers: { 'if-match': edited.headers.get('etag') ?? '' },
        })
      ).status,
    ).toBeLessThan(300);
  });
});

describe('Filters and search', () => {
  it('finds customers by the start of a word of the Full Name or Short Name, without regard to case', async () => {
    const pharmacies = await all('search=PHAR&top=7');
    expect(pharmacies).toHaveLength(CUSTOMERS / 2);
    expect(pharmacies.map((c) => c.shortName)).toEqual([...pharmacies.map((c) => c.shortName)].sort());
    expect(await all('search=harmacy')).toEqual([]);
    expect((await all('search=cust01')).map((c) => c.shortName)).toEqual(
      Array.from({ length: 10 }, (_, i) => name(10 + i)),
    );
  });

  it('filters by State, License Type and channel, and pages through every match once', async () => {
    const essentials = await all('licenseType=hosted-essentials&top=9');
    expect(essentials).toHaveLength(CUSTOMERS / 3);
    expect(essentials.every((c) => c.licenseType === 'hosted-essentials')).toBe(true);
    const north = await all('channelId=north&licenseType=hosted-pro&top=5');
    expect(north.map((c) => c.shortName)).toEqual(
      Array.from({ length: CUSTOMERS }, (_, i) => i)
        .filter((i) => i % 2 === 0 && i % 3 !== 0)
        .map(name),
    );
    expect(await all('state=deployed')).toEqual([]);
  });

  it('refuses an unknown State or License Type with a validation problem', async () => {
    for (const query of ['state=Deployed', 'licenseType=pro', 'channelId=no%20such']) {
      const response = await call('GET', `/api/v1/customers?${query}`);
      expect(response.status).toBe(400);
      expect(response.problem.code).toBe('validation_failed');
    }
  });
});

describe('Activity columns', () => {
  it("count a customer's Queued tasks without changing the customer's ETag", async () => {
    const before = await call('GET', `/api/v1/customers/${name(5)}`);
    await stack.services.taskEngine.start({
      type: 'SBCInit summary probe' as never,
      customerId: name(5),
      input: { note: 'x' },
    });
    expect((await item(name(5)))?.activity.queuedCommands).toBe(1);
    const after = await call('GET', `/api/v1/customers/${name(5)}`);
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
    // And a filtered list shows it too: the index rows carry the activity.
    const filtered = await list(`state=ready-for-deployment&search=${name(5)}`);
    expect(filtered.value[0]?.activity.queuedCommands).toBe(1);
  });

  it('stay stale after a crash between the task change and the summary, until the reconciliation', async () => {
    customersDown = true;
    try {
      await stack.services.taskEngine.start({
        type: 'SBCInit summary probe' as never,
        customerId: name(7),
        input: { note: 'x' },
      });
    } finally {
      customersDown = false;
    }
    expect((await item(name(7)))?.activity.queuedCommands).toBe(0);
    expect(await stack.services.customerActivity.reconcile()).toBe(1);
    expect((await item(name(7)))?.activity.queuedCommands).toBe(1);
    expect(await stack.services.customerActivity.reconcile()).toBe(0);
  });

  it('are repaired by the reconciliation when a summary and an index row were corrupted', async () => {
    const rows = stack.tables.table<TableRow & Record<string, string | number | boolean>>(CUSTOMERS_TABLE);
    const key = name(9).toLowerCase();
    const customer = await rows.get('provider', key);
    expect(customer).not.toBeNull();
    await rows.upsert({
      ...(customer?.value ?? { partitionKey: 'provider', rowKey: '' }),
      queuedCommands: 42,
    });
    const filters = stack.tables.table<TableRow & Record<string, string | number | boolean>>(
      CUSTOMER_FILTERS_TABLE,
    );
    // The row of the State it has moves to one of a State it no longer has, as a lost index write would leave it.
    const current = await filters.get('state!ready-for-deployment', key);
    expect(await filters.delete('state!ready-for-deployment', key)).toBe(true);
    await filters.upsert({
      ...(current?.value ?? { partitionKey: '', rowKey: key }),
      partitionKey: 'state!deployed',
      state: 'deployed',
    });
    expect((await all('state=deployed')).length).toBe(1);
    expect((await item(name(9)))?.activity.queuedCommands).toBe(42);

    expect(await stack.services.customerActivity.reconcile()).toBe(1);

    expect((await item(name(9)))?.activity.queuedCommands).toBe(0);
    expect((await list(`search=${name(9)}`)).value[0]?.activity.queuedCommands).toBe(0);
    expect((await all(`state=ready-for-deployment&search=${name(9)}`)).map((c) => c.shortName)).toEqual([
      name(9),
    ]);
    expect(await all('state=deployed')).toEqual([]);
  });

  it('keep no summary row of the former layout, nor index rows of a customer that is gone', async () => {
    const rows = stack.tables.table<TableRow & Record<string, string | number | boolean>>(CUSTOMERS_TABLE);
    await rows.upsert({
      partitionKey: 'provider',
      rowKey: 'ghost!summary',
      queuedCommands: 3,
    });
    const words = stack.tables.table<TableRow & Record<string, string | number | boolean>>(
      CUSTOMER_WORDS_TABLE,
    );
    await words.upsert({ partitionKey: 'word!ghost', rowKey: 'ghost', key: 'ghost' });
    await stack.services.customerActivity.reconcile();
    expect(await rows.get('provider', 'ghost!summary')).toBeNull();
    expect(await words.get('word!ghost', 'ghost')).toBeNull();
  });
});
