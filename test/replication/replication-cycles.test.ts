import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_REPLICATION_MESSAGE } from '../../shared/replication/replication-service.js';
import {
  type ConnectedCustomer,
  connectScaleCustomer,
  expectMirrorEqualsTenant,
  type ReplicationFixture,
  replicationStatus,
  startReplicationFixture,
  waitForCycleAfter,
  waitForStatus,
} from './replication-fixture.js';

let fixture: ReplicationFixture;

beforeAll(async () => {
  fixture = await startReplicationFixture();
});
afterAll(() => fixture?.close());

describe('a customer whose credentials are verified', () => {
  let customer: ConnectedCustomer;

  beforeAll(async () => {
    // Slow pages keep the first replication visible for a moment.
    fixture.stack.sandbox.faults.add({
      pathPattern: '^/graph/v1\\.0/admin/teams/userConfigurations$',
      kind: 'latency',
      latencyMs: 150,
    });
    customer = await connectScaleCustomer(fixture, { users: 300, groups: 3 });
  });

  it('replicates by itself; until the first cycle ends the manual says so and Last sync at is never', async () => {
    const first = await replicationStatus(fixture, customer.customerId);
    expect(first).toMatchObject({
      state: 'first-replication',
      message: FIRST_REPLICATION_MESSAGE,
      lastSyncAt: null,
      lastSyncText: '[Last sync at: never]',
    });
    const users = await fixture.call('GET', `/api/v1/customers/${customer.customerId}/users`);
    expect(users.body).toMatchObject({
      lastSyncText: '[Last sync at: never]',
      message: FIRST_REPLICATION_MESSAGE,
    });

    const done = await waitForStatus(
      fixture,
      customer.customerId,
      (s) => s.lastSyncAt !== null && s.state === 'idle',
    );
    fixture.stack.sandbox.faults.clear();
    expect(done).toMatchObject({
      state: 'idle',
      message: null,
      lastCycle: { kind: 'full', reason: 'initial', outcome: 'succeeded' },
    });
    expect(done.lastSyncText).toMatch(/^\[Last sync at: [A-Z][a-z]+ \d{1,2}, \d{4}, \d\d:\d\d:\d\d\]$/);
    expect(done.counts).toMatchObject({ users: 300, groups: 4, voiceObjects: expect.any(Number) });
    await expectMirrorEqualsTenant(fixture, customer);
  });

  it('mirrors users with their Teams side and the derived gateway and site location', async () => {
    const page = await fixture.call('GET', `/api/v1/customers/${customer.customerId}/users?top=2`);
    const body = page.body as { value: Array<Record<string, unknown>>; nextLink: string | null };
    expect(body.value).toHaveLength(2);
    expect(body.nextLink).toMatch(/^\/api\/v1\/customers\/[^/]+\/users\?top=2&cursor=/);
    const voiceUser = customer.tenant.userId(0);
    const list = await fixture.call(
      'GET',
      `/api/v1/customers/${customer.customerId}/voice-objects?type=OnlineVoiceRoute`,
    );
    expect((list.body as { value: Array<{ identity: string }> }).value.map((o) => o.identity).sort()).toEqual(
      ['International', 'Unrestricted'],
    );
    const all = await fixture.call('GET', `/api/v1/customers/${customer.customerId}/users?top=500`);
    const user = (all.body as { value: Array<Record<string, unknown>> }).value.find(
      (u) => u.id === voiceUser,
    );
    const gateway = `${customer.tenant.options.domain.split('.')[0]}.customers.voice.example`;
    expect(user).toMatchObject({
      enterpriseVoiceEnabled: true,
      lineUri: 'tel:+15550000000',
      onlineVoiceRoutingPolicy: 'Unrestricted',
      tenantDialPlan: 'DP-Intl',
      sipAddress: `sip:${customer.tenant.user(voiceUser)?.userPrincipalName}`,
      onlinePstnGateway: gateway,
      siteLocation: gateway.split('.')[0],
    });
  });

  it('follows renames, deletions, additions, membership and Teams changes with a quick cycle, then a full one', async () => {
    const { tenant } = customer;
    tenant.updateUser(tenant.userId(1), { displayName: 'Renamed Person', department: 'Research' });
    tenant.updateUser(tenant.userId(2), { userPrincipalName: `renamed@${tenant.options.domain}` });
    tenant.deleteUser(tenant.userId(3));
    tenant.deleteUser(tenant.userId(8));
    const added = tenant.addUser({
      displayName: 'New Hire',
      department: 'Sales',
      enterpriseVoiceEnabled: true,
    });
    tenant.addMember(tenant.groupId(0), added.id);
    tenant.addMember(tenant.groupId(1), tenant.userId(0));
    tenant.removeMember(tenant.groupId(2), tenant.userId(5));
    tenant.updateGroup(tenant.groupId(1), { displayName: 'Team Renamed' });
    tenant.updateTeams(tenant.userId(4), { telephoneNumber: '+15559990004', enterpriseVoiceEnabled: true });
    // A subscription bought since: a quick cycle reads the tenant's subscriptions too (they name licenses).
    fixture.stack.sandbox.state.directory.setSku(tenant.options.tenantId, 'MCOEV', 10);

    const before = new Date().toISOString();
    const queued = await fixture.call(
      'POST',
      `/api/v1/customers/${customer.customerId}/replication?kind=quick`,
    );
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    expect(queued.headers.get('location')).toBe(`/api/v1/customers/${customer.customerId}/replication`);
    const quick = await waitForCycleAfter(fixture, customer.customerId, before);
    expect(quick.lastCycle).toMatchObject({ kind: 'quick', outcome: 'succeeded' });
    expect(quick.lastCycle?.counters.usersRemoved).toBe(2);
    expect(await fixture.services.mirror.skus(customer.customerId)).toEqual([
      {
        skuId: 'e43b5b99-8dfb-405f-9987-dc307f34bcbd',
        skuPartNumber: 'MCOEV',
        capabilityStatus: 'Enabled',
        enabled: 10,
        consumed: 0,
      },
    ]);
    await expectMirrorEqualsTenant(fixture, customer);

    tenant.deleteUser(tenant.userId(9));
    tenant.updateUser(tenant.userId(10), { accountEnabled: false });
    const again = new Date().toISOString();
    await fixture.call('POST', `/api/v1/customers/${customer.customerId}/replication`);
    const full = await waitForCycleAfter(fixture, customer.customerId, again);
    expect(full.lastCycle).toMatchObject({ kind: 'full', outcome: 'succeeded' });
    await expectMirrorEqualsTenant(fixture, customer);
  });

  it('runs a quick cycle QuickReplicationCycleDelay after the last change the product noted', async () => {
    const { replication } = fixture.services;
    customer.tenant.updateUser(customer.tenant.userId(11), { displayName: 'Changed By Us' });
    const before = new Date().toISOString();
    await replication.noteCustomerChanged(customer.customerId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await replication.noteCustomerChanged(customer.customerId);
    const done = await waitForCycleAfter(fixture, customer.customerId, before);
    expect(done.lastCycle).toMatchObject({ kind: 'quick', reason: 'change' });
    expect(done.lastChangeAt).not.toBeNull();
    await expectMirrorEqualsTenant(fixture, customer);
    // The earlier change's trigger was superseded by the later one: one cycle for both.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await replicationStatus(fixture, customer.customerId)).lastCycle?.id).toBe(done.lastCycle?.id);
  });
});
