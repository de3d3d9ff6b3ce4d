import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  // The removal task never runs here, so "until its removal completes" does not race the task engine.
  stack = await startMemoryStack({ tenantLicenses: 4, userLicenses: 100, deliverQueues: false });
  call = apiClient(stack.api, () => stack.token());
});
afterAll(() => stack?.close());

const create = (shortName: string, licensedUsers: number) =>
  call('POST', '/api/v1/customers', {
    json: { fullName: shortName, shortName, licenseType: 'hosted-pro', licensedUsers },
  });

async function summary() {
  const body = (await call('GET', '/api/v1/customers')).body as {
    availableUsers: number;
    availableCustomers: number;
    value: unknown[];
  };
  return {
    availableUsers: body.availableUsers,
    availableCustomers: body.availableCustomers,
    customers: body.value.length,
  };
}

describe('the provider license pool', () => {
  it('counts tenant and user licenses and refuses what the pool cannot cover', async () => {
    expect(await summary()).toEqual({ availableUsers: 100, availableCustomers: 4, customers: 0 });
    expect((await create('First', 60)).status).toBe(201);
    expect(await summary()).toEqual({ availableUsers: 40, availableCustomers: 3, customers: 1 });

    const tooMany = await create('Second', 41);
    expect(tooMany.status).toBe(409);
    expect(tooMany.problem.code).toBe('user_licenses_exhausted');
    expect(tooMany.problem.detail).toContain('only 40');
    expect(await summary()).toEqual({ availableUsers: 40, availableCustomers: 3, customers: 1 });

    expect((await create('Second', 40)).status).toBe(201);
    const growFirst = await call('PATCH', '/api/v1/customers/First', { json: { licensedUsers: 61 } });
    expect(growFirst.status).toBe(409);
    expect(growFirst.problem.code).toBe('user_licenses_exhausted');
    expect((await call('PATCH', '/api/v1/customers/First', { json: { licensedUsers: 50 } })).status).toBe(
      200,
    );
    expect(await summary()).toEqual({ availableUsers: 10, availableCustomers: 2, customers: 2 });
  });

  it('grants exactly the tenant licenses left to a burst of simultaneous creates', async () => {
    const before = await summary();
    expect(before.availableCustomers).toBe(2);
    const responses = await Promise.all(
      ['Rush1', 'Rush2', 'Rush3', 'Rush4', 'Rush5', 'Rush6'].map((name) => create(name, 1)),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(2);
    expect(
      responses.filter((r) => r.status === 409).every((r) => r.problem.code === 'tenant_licenses_exhausted'),
    ).toBe(true);
    expect(await summary()).toEqual({ availableUsers: 8, availableCustomers: 0, customers: 4 });
  });

  it("keeps a deleted customer's licenses until its removal completes", async () => {
    expect((await call('DELETE', '/api/v1/customers/Second')).status).toBe(202);
    expect(await summary()).toMatchObject({ availableUsers: 8, availableCustomers: 0 });
    const refused = await create('Third', 1);
    expect(refused.status).toBe(409);
    expect(refused.problem.code).toBe('tenant_licenses_exhausted');
  });
});
