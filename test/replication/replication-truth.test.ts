import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import type { ReplicationMessage } from '../../shared/replication/replication-service.js';
import type { ReplicationStatusView } from '../../shared/replication/replication-views.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { TEST_REPLICATION } from './replication-fixture.js';

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  // Messages are handed to the service by the test, one at a time: a failing cycle's retries need no waiting.
  stack = await startMemoryStackWithPeers({
    deliverQueues: false,
    settings: { replication: { ...TEST_REPLICATION } },
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
}, 60_000);
afterAll(async () => stack?.close());

async function connectedCustomer(shortName: string): Promise<void> {
  const { sandbox } = stack;
  const tenant = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    { displayName: `${shortName} Ltd`, users: 30, groups: 2, seed: shortName },
  );
  const app = addReplicationApp(sandbox, tenant.options.tenantId, `${shortName} sync`);
  const created = await call('POST', '/api/v1/customers', {
    json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await stack.services.credentials.connectAppRegistration(shortName, {
    tenantId: tenant.options.tenantId,
    clientId: app.appId,
    clientSecret: app.secretText,
  });
}

/** Runs a full cycle to its end the way the queue would: the trigger, then each continuation it asks for. */
async function runCycle(customerId: string): Promise<string> {
  let message: ReplicationMessage = {
    type: 'trigger',
    customerId,
    kind: 'full',
    reason: 'manual',
    requestedAt: new Date().toISOString(),
  };
  for (let i = 0; i < 50; i++) {
    const outcome = await stack.services.replication.handle(message);
    const { cycle } = await stack.services.replication.status(customerId);
    if (!cycle) return outcome;
    message = { type: 'continue', customerId, cycleId: cycle.id };
  }
  throw new Error('The cycle did not end.');
}

const status = async (customerId: string) => {
  const response = await call('GET', `/api/v1/customers/${customerId}/replication`);
  expect(response.status).toBe(200);
  return response.body as ReplicationStatusView;
};
const listed = async (customerId: string) => {
  const response = await call('GET', '/api/v1/customers');
  expect(response.status).toBe(200);
  return (response.body as { value: { shortName: string; lastReplicationAt: string | null }[] }).value.find(
    (c) => c.shortName === customerId,
  );
};

describe('replication status that tells the truth', () => {
  it('puts the last completed cycle on the Tenants list, and says failed with the reason after a failed cycle', async () => {
    await connectedCustomer('Truthful');
    expect((await listed('Truthful'))?.lastReplicationAt).toBeNull();

    expect(await runCycle('Truthful')).toBe('done');
    const synced = await status('Truthful');
    expect(synced.state).toBe('idle');
    expect(synced.lastSyncAt).toEqual(expect.any(String));
    expect((await listed('Truthful'))?.lastReplicationAt).toBe(synced.lastSyncAt);

    // Graph refuses the users query: each chunk fails, and the cycle is given up after the fifth.
    const fault = stack.sandbox.faults.add({
      method: 'GET',
      pathPattern: '^/graph/.*users',
      kind: 'status',
      status: 400,
    });
    try {
      expect(await runCycle('Truthful')).toBe('failed');
    } finally {
      stack.sandbox.faults.remove(fault.id);
    }
    const failed = await status('Truthful');
    expect(failed.state).toBe('failed');
    expect(failed.lastCycle?.outcome).toBe('failed');
    expect(failed.message).toBe('The last full replication cycle failed: Injected fault.');
    // The list still shows the last cycle that completed.
    expect((await listed('Truthful'))?.lastReplicationAt).toBe(synced.lastSyncAt);

    expect(await runCycle('Truthful')).toBe('done');
    const healed = await status('Truthful');
    expect(healed).toMatchObject({ state: 'idle', message: null });
    expect((await listed('Truthful'))?.lastReplicationAt).toBe(healed.lastSyncAt);
    expect(healed.lastSyncAt! > synced.lastSyncAt!).toBe(true);
  });
});
