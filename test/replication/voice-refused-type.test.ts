import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxProfile } from '../../dev/sandbox/profile.js';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import type { ReplicationMessage } from '../../shared/replication/replication-service.js';
import type { ReplicationStatusView } from '../../shared/replication/replication-views.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { TEST_REPLICATION } from './replication-fixture.js';

/**
 * A tenant whose Teams admin API refuses one voice object type (a retired type, or one not rolled out to it; the
 * sandbox's reality knob `teams.refusedTypes`): replication keeps going without it. In process, on the memory twins.
 */

const CUSTOMER = 'Refusing';
let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;
let tenantId: string;

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({
    deliverQueues: false,
    settings: { replication: { ...TEST_REPLICATION } },
    sandbox: { profile: sandboxProfile('reality', 0.01) },
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  const { sandbox } = stack;
  const tenant = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    { displayName: `${CUSTOMER} Ltd`, users: 12, groups: 1, seed: CUSTOMER },
  );
  tenantId = tenant.options.tenantId;
  const app = addReplicationApp(sandbox, tenantId, `${CUSTOMER} sync`);
  const created = await call('POST', '/api/v1/customers', {
    json: { fullName: `${CUSTOMER} Ltd`, shortName: CUSTOMER, licenseType: 'hosted-pro', licensedUsers: 10 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await stack.services.credentials.connectAppRegistration(CUSTOMER, {
    tenantId,
    clientId: app.appId,
    clientSecret: app.secretText,
  });
}, 60_000);
afterAll(async () => stack?.close());

const trigger = (): ReplicationMessage => ({
  type: 'trigger',
  customerId: CUSTOMER,
  kind: 'full',
  reason: 'manual',
  requestedAt: new Date().toISOString(),
});

/** Hands the service one message, then each continuation it asks for, until the cycle ends or a chunk fails. */
async function runCycle(first: ReplicationMessage = trigger()): Promise<string> {
  let message = first;
  for (let i = 0; i < 50; i++) {
    const outcome = await stack.services.replication.handle(message);
    const { cycle } = await stack.services.replication.status(CUSTOMER);
    if (!cycle || outcome === 'failed') return outcome;
    message = { type: 'continue', customerId: CUSTOMER, cycleId: cycle.id };
  }
  throw new Error('The cycle did not end.');
}

const status = async () => {
  const response = await call('GET', `/api/v1/customers/${CUSTOMER}/replication`);
  expect(response.status).toBe(200);
  return response.body as ReplicationStatusView;
};

const identities = async (type: string) => {
  const response = await call('GET', `/api/v1/customers/${CUSTOMER}/voice-objects?type=${type}`);
  expect(response.status).toBe(200);
  return (response.body as { value: { identity: string }[] }).value.map((o) => o.identity).sort();
};

describe('a voice object type the tenant refuses', () => {
  it('is kept as it was and shown as a warning while the other types replicate', async () => {
    expect(await runCycle()).toBe('done');
    expect(await identities('TenantDialPlan')).toEqual(['Global', 'Tag:DP-Intl']);
    const before = (await status()).counts.voiceObjects;
    expect((await status()).lastCycle?.warnings).toEqual([]);

    stack.sandbox.teams.refusedTypes.set(tenantId, 'TenantDialPlan', true);
    stack.sandbox.teams.create(tenantId, 'TenantNetworkRegion', { Identity: 'APAC' });
    expect(await runCycle()).toBe('done');

    const refused = await status();
    expect(refused).toMatchObject({ state: 'idle', message: null, lastCycle: { outcome: 'succeeded' } });
    expect(refused.lastCycle?.warnings).toEqual([
      {
        code: 'voice-policy-type-refused',
        policyType: 'TenantDialPlan',
        status: 404,
        message: expect.stringContaining("Unknown configuration type 'TenantDialPlan'"),
      },
    ]);
    // The refused type's objects were not read, so they are not taken as deleted.
    expect(await identities('TenantDialPlan')).toEqual(['Global', 'Tag:DP-Intl']);
    expect(await identities('TenantNetworkRegion')).toContain('APAC');
    expect(refused.counts.voiceObjects).toBe(before + 1);

    stack.sandbox.teams.refusedTypes.set(tenantId, 'TenantDialPlan', false);
    expect(await runCycle()).toBe('done');
    expect((await status()).lastCycle?.warnings).toEqual([]);
  });

  it('still fails the chunk, to be retried, when that type answers 503', async () => {
    const fault = stack.sandbox.faults.add({
      method: 'GET',
      pathPattern: '^/teams/Skype\\.Policy/configurations/TenantDialPlan$',
      kind: 'status',
      status: 503,
      retryAfterSeconds: 0,
    });
    try {
      expect(await runCycle()).toBe('failed');
      const retrying = await status();
      expect(retrying.state).toBe('running');
      expect(retrying.currentCycle).toMatchObject({ phase: 'voice', failures: 1 });
      expect(retrying.currentCycle?.lastError).toContain('TenantDialPlan');
    } finally {
      stack.sandbox.faults.remove(fault.id);
    }
    const { cycle } = await stack.services.replication.status(CUSTOMER);
    expect(await runCycle({ type: 'continue', customerId: CUSTOMER, cycleId: cycle?.id ?? '' })).toBe('done');
    expect(await identities('TenantDialPlan')).toEqual(['Global', 'Tag:DP-Intl']);
    expect((await status()).lastCycle).toMatchObject({ outcome: 'succeeded', warnings: [] });
  });

  it('fails the chunk when every type is refused: the call is wrong, not one type unknown', async () => {
    const fault = stack.sandbox.faults.add({
      method: 'GET',
      pathPattern: '^/teams/Skype\\.Policy/',
      kind: 'status',
      status: 404,
    });
    try {
      expect(await runCycle()).toBe('failed');
      expect((await status()).currentCycle).toMatchObject({ phase: 'voice', failures: 1 });
    } finally {
      stack.sandbox.faults.remove(fault.id);
    }
    const { cycle } = await stack.services.replication.status(CUSTOMER);
    expect(await runCycle({ type: 'continue', customerId: CUSTOMER, cycleId: cycle?.id ?? '' })).toBe('done');
    expect(await identities('TenantDialPlan')).toEqual(['Global', 'Tag:DP-Intl']);
  });
});
