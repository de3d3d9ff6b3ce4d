import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../consent/consent-fixture.js';
import { CREDENTIAL_ALARM, credentialAlarmSource } from '../../shared/credentials/credential-service.js';
import { createTableCredentialStore } from '../../shared/credentials/credential-store.js';
import { createJsonQueue } from '../../shared/storage/json-queue.js';
import type { DriftReport } from '../../shared/replication/drift.js';
import { replicationDeps } from '../../shared/replication/replication-deps.js';
import {
  createReplicationService,
  queueReplication,
  type ReplicationMessage,
} from '../../shared/replication/replication-service.js';
import { REPLICATION_QUEUE } from '../../shared/replication/replication-store.js';
import {
  type ConnectedCustomer,
  connectScaleCustomer,
  expectMirrorEqualsTenant,
  type ReplicationFixture,
  replicationStatus,
  startReplicationFixture,
  waitForCycleAfter,
  waitForFirstCycle,
  waitForStatus,
} from './replication-fixture.js';

let fixture: ReplicationFixture;

beforeAll(async () => {
  fixture = await startReplicationFixture();
});
afterAll(() => fixture?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the sandbox's Microsoft services were asked since the log was last cleared. */
function sandboxRequests(pattern: RegExp) {
  return fixture.stack.sandbox.requests.list().filter((r) => pattern.test(r.path));
}

const TEAMS_USERS_PATH = /^\/graph\/v1\.0\/admin\/teams\/userConfigurations$/;
/** Every full cycle begins with `GET /users/delta?$deltatoken=latest`: one such request, one full cycle. */
const fullCycleStarts = () =>
  sandboxRequests(/^\/graph\/v1\.0\/users\/delta$/).filter((r) => r.query.includes('$deltatoken=latest'));

function replicationQueue() {
  return createJsonQueue<ReplicationMessage>(fixture.stack.storageConnectionString, REPLICATION_QUEUE);
}

describe('two triggers at once, and a holder that crashed', () => {
  let customer: ConnectedCustomer;

  beforeAll(async () => {
    customer = await connectScaleCustomer(fixture, { users: 120, groups: 2 });
    const first = await waitForFirstCycle(fixture, customer.customerId);
    expect(first.lastCycle).toMatchObject({ kind: 'full', outcome: 'succeeded' });
  });

  it('runs exactly one cycle for two Queue Replication clicks and a duplicate queue message at the same moment', async () => {
    const { customerId } = customer;
    const previous = (await replicationStatus(fixture, customerId)).lastCycle?.id;
    fixture.stack.sandbox.requests.clear();
    const before = new Date().toISOString();
    const duplicate: ReplicationMessage = {
      type: 'trigger',
      customerId,
      kind: 'full',
      reason: 'manual',
      requestedAt: before,
    };
    const queue = replicationQueue();
    // "The same moment" is every trigger noted before any cycle can start: on a busy machine the host could start
    // the first before the second click is even handled, and a click after a cycle began rightly gets its own. So
    // the customer is held while the four arrive; whichever handlers ran meanwhile found it busy, the rest race for
    // it on release.
    const hold = await waitFor('the customer to be free', () =>
      fixture.store.acquireCustomer(customerId, 'test-hold', 5).then((lease) => lease ?? undefined),
    );
    const [a, b] = await Promise.all([
      fixture.call('POST', `/api/v1/customers/${customerId}/replication`),
      fixture.call('POST', `/api/v1/customers/${customerId}/replication`),
      queue.send(duplicate),
      queue.send(duplicate),
    ]);
    expect(a?.status).toBe(202);
    expect(b?.status).toBe(202);
    // Renewing throws if anyone took the customer meanwhile: then no cycle can have started before the last trigger.
    await fixture.store.release(await fixture.store.renew(hold, 5));

    const done = await waitForCycleAfter(fixture, customerId, before);
    expect(done.lastCycle).toMatchObject({ kind: 'full', reason: 'manual', outcome: 'succeeded' });
    expect(done.lastCycle?.id).not.toBe(previous);
    // A trigger that found the customer busy would come back after at least five seconds: give it the time.
    await sleep(6000);
    const after = await replicationStatus(fixture, customerId);
    expect(after.lastCycle?.id).toBe(done.lastCycle?.id);
    expect(after).toMatchObject({ state: 'idle', currentCycle: null, queuedAt: null });
    expect(fullCycleStarts()).toHaveLength(1);
    await expectMirrorEqualsTenant(fixture, customer);
  });

  it('a click that arrived as the cycle started is covered by it, and the status does not stay queued', async () => {
    const { customerId } = customer;
    const slow = fixture.stack.sandbox.faults.add({
      pathPattern: TEAMS_USERS_PATH.source,
      kind: 'latency',
      latencyMs: 250,
    });
    try {
      fixture.stack.sandbox.requests.clear();
      const before = new Date().toISOString();
      await fixture.call('POST', `/api/v1/customers/${customerId}/replication`);
      const running = await waitForStatus(
        fixture,
        customerId,
        (s) => s.currentCycle !== null && s.currentCycle.startedAt > before,
        15_000,
      );
      const startedAt = running.currentCycle?.startedAt ?? '';
      // The second click's request was taken just before the cycle started; its handler noted it just after.
      await queueReplication(
        { store: fixture.store, queue: replicationQueue(), now: () => new Date(Date.parse(startedAt) - 20) },
        customerId,
        'full',
        'manual',
      );
      const done = await waitForCycleAfter(fixture, customerId, before);
      expect(done.lastCycle?.id).toBe(running.currentCycle?.id);
      expect(done).toMatchObject({ state: 'idle', queuedAt: null });
      await sleep(1000);
      expect((await replicationStatus(fixture, customerId)).lastCycle?.id).toBe(done.lastCycle?.id);
      expect(fullCycleStarts()).toHaveLength(1);
    } finally {
      fixture.stack.sandbox.faults.remove(slow.id);
    }
  });

  it('waits while a crashed holder keeps the lease, then runs the cycle once the lease has expired', async () => {
    const { customerId } = customer;
    // A holder that took the customer (once the cycle of the test before has let go) and died without giving the
    // lease back.
    const crashed = await waitFor('the customer to be free', () =>
      fixture.store.acquireCustomer(customerId, 'crashed-holder', 2).then((lease) => lease ?? undefined),
    );
    const previous = (await replicationStatus(fixture, customerId)).lastCycle?.id;
    customer.tenant.updateUser(customer.tenant.userId(7), { displayName: 'Changed While Locked' });
    const before = new Date().toISOString();
    const queued = await fixture.call('POST', `/api/v1/customers/${customerId}/replication`);
    expect(queued.status).toBe(202);

    await sleep(1200);
    const waiting = await replicationStatus(fixture, customerId);
    expect(waiting).toMatchObject({ state: 'queued', currentCycle: null });
    expect(waiting.lastCycle?.id).toBe(previous);

    const done = await waitForCycleAfter(fixture, customerId, before);
    expect(done.lastCycle).toMatchObject({ kind: 'full', outcome: 'succeeded' });
    expect(Date.parse(done.lastCycle?.startedAt ?? '')).toBeGreaterThanOrEqual(crashed?.expiresAt ?? 0);
    expect(done.state).toBe('idle');
    await expectMirrorEqualsTenant(fixture, customer);
  });
});

/**
 * A replication service like the product's whose process "dies" when it asks for the `killAt`-th page of Teams
 * users: the call never returns, so the holder neither checkpoints again, renews its leases nor releases them.
 */
function dyingReplication(killAt: number) {
  const connection = fixture.stack.storageConnectionString;
  const deps = replicationDeps({
    ...fixture.services,
    activity: fixture.services.customerActivity,
    store: fixture.store,
    queue: createJsonQueue<ReplicationMessage>(connection, REPLICATION_QUEUE),
    credentialStore: createTableCredentialStore(connection),
    desired: (customerId) => fixture.services.voiceChanges.desired(customerId),
  });
  let calls = 0;
  return createReplicationService({
    ...deps,
    // Its one chunk would run long enough to finish the cycle: only the kill stops it.
    settings: { ...deps.settings, chunkSeconds: 120 },
    // Saved as soon as each page's writes are stored, so that the test knows which page the checkpoint names.
    checkpointMs: 0,
    reader: (credential) => {
      const reader = deps.reader(credential);
      return {
        ...reader,
        teamsUsers: (link, options) =>
          ++calls >= killAt ? new Promise<never>(() => {}) : reader.teamsUsers(link, options),
      };
    },
  });
}

describe('a cycle killed after a few pages', () => {
  it('resumes from its checkpoint rather than page 1, and the mirror then equals the tenant after deletions, renames and membership changes', async () => {
    const customer = await connectScaleCustomer(fixture, { users: 400, groups: 3 });
    const { customerId, tenant } = customer;
    await waitForFirstCycle(fixture, customerId);

    // Changes before the cycle, on pages it reads before and after it dies.
    tenant.updateUser(tenant.userId(3), { displayName: 'Early Rename', department: 'Research' });
    tenant.updateUser(tenant.userId(390), { userPrincipalName: `late.rename@${tenant.options.domain}` });
    tenant.deleteUser(tenant.userId(5));
    tenant.deleteUser(tenant.userId(385));
    tenant.addMember(tenant.groupId(0), tenant.userId(1));
    tenant.removeMember(tenant.groupId(1), tenant.userId(4));
    tenant.updateGroup(tenant.groupId(2), { displayName: 'Renamed Before The Crash' });
    const hired = tenant.addUser({ displayName: 'New Hire', enterpriseVoiceEnabled: true });
    tenant.addMember(tenant.groupId(0), hired.id);

    // The host's own service may still hold the customer for a message that came after the first cycle: the dying
    // service must get the customer itself, or it hands its trigger to the queue and the host runs the cycle whole.
    await waitFor('the customer free of any holder', async () =>
      (await fixture.store.customerLeaseUntil(customerId)) === 0 ? true : undefined,
    );
    fixture.stack.sandbox.requests.clear();
    const dying = dyingReplication(5);
    const handled = dying.handle({
      type: 'trigger',
      customerId,
      kind: 'full',
      reason: 'manual',
      requestedAt: new Date().toISOString(),
    });
    handled.catch(() => undefined);
    const dead = await waitForStatus(
      fixture,
      customerId,
      (s) => s.currentCycle?.phase === 'teams-users' && s.currentCycle.phasePage === 4,
      20_000,
    );
    const cycleId = dead.currentCycle?.id;
    const pagesBefore = sandboxRequests(TEAMS_USERS_PATH).length;
    expect(pagesBefore).toBe(4);

    // While the holder is dead: more changes, on pages it has not read yet, and to groups.
    tenant.updateUser(tenant.userId(350), { displayName: 'Renamed While Dead' });
    tenant.deleteUser(tenant.userId(370));
    tenant.updateTeams(tenant.userId(360), { telephoneNumber: '+15559990360' });
    tenant.addMember(tenant.groupId(2), hired.id);
    tenant.removeMember(tenant.groupId(0), tenant.userId(300));

    // The timer hands the cycle on once the dead holder's lease ran out and it made no progress.
    const until = Date.now() + 15_000;
    let resumed = 0;
    while (resumed === 0) {
      expect(Date.now(), 'the timer never resumed the cycle').toBeLessThan(until);
      await sleep(500);
      ({ resumed } = await fixture.services.replication.tick());
    }
    const done = await waitForStatus(fixture, customerId, (s) => s.currentCycle === null, 20_000);
    expect(done.lastCycle).toMatchObject({ id: cycleId, kind: 'full', outcome: 'succeeded' });

    // Not from page 1 again: the first page was asked for once, and no page twice.
    const pages = sandboxRequests(TEAMS_USERS_PATH);
    expect(pages.length).toBeGreaterThan(pagesBefore);
    expect(pages.filter((r) => !r.query.includes('$skiptoken'))).toHaveLength(1);
    expect(new Set(pages.map((r) => r.query)).size).toBe(pages.length);
    expect(done.lastCycle?.counters.usersSeen).toBe(tenant.counts().users);
    expect(fullCycleStarts()).toHaveLength(1);
    await expectMirrorEqualsTenant(fixture, customer);

    // What changed on pages read before the crash and after the cycle's start is the next quick cycle's.
    tenant.updateUser(tenant.userId(2), { displayName: 'Renamed After' });
    tenant.deleteUser(tenant.userId(6));
    tenant.addMember(tenant.groupId(1), tenant.userId(4));
    const late = tenant.addUser({ displayName: 'Hired Later', enterpriseVoiceEnabled: true });
    tenant.addMember(tenant.groupId(2), late.id);
    const before = new Date().toISOString();
    await fixture.call('POST', `/api/v1/customers/${customerId}/replication?kind=quick`);
    const quick = await waitForCycleAfter(fixture, customerId, before);
    expect(quick.lastCycle).toMatchObject({ kind: 'quick', outcome: 'succeeded' });
    await expectMirrorEqualsTenant(fixture, customer);
  });
});

describe('credentials', () => {
  it('skips a customer without verified credentials: no cycle, and the status says why', async () => {
    const shortName = `NoCred${Math.random().toString(36).slice(2, 6)}`;
    const created = await fixture.call('POST', '/api/v1/customers', {
      json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
    });
    expect(created.status).toBe(201);
    expect(await replicationStatus(fixture, shortName)).toMatchObject({
      state: 'not-verified',
      lastSyncText: '[Last sync at: never]',
      currentCycle: null,
      lastCycle: null,
    });
    const refused = await fixture.call('POST', `/api/v1/customers/${shortName}/replication`);
    expect(refused.status).toBe(409);
    expect(refused.problem.code).toBe('credentials_not_verified');

    // A trigger that reaches the queue anyway (an old one, the timer) does nothing but say so.
    await replicationQueue().send({
      type: 'trigger',
      customerId: shortName,
      kind: 'full',
      reason: 'schedule',
      requestedAt: new Date().toISOString(),
    });
    const skipped = await waitForStatus(fixture, shortName, (s) => s.skipped !== null, 15_000);
    expect(skipped).toMatchObject({
      state: 'not-verified',
      currentCycle: null,
      lastCycle: null,
      lastSyncAt: null,
      message: 'Replication skipped: The customer has no Microsoft 365 credentials yet.',
    });
    const drift = await fixture.call('GET', `/api/v1/customers/${shortName}/drift`);
    expect(drift.status).toBe(404);
  });

  it('a token refused mid-cycle marks Authentication Status Failed, raises an alarm and stops replication until the credentials are fixed', async () => {
    // 15 slow pages of Teams users (4.5 s): several 2-second chunks are still to run once the secret is gone.
    const customer = await connectScaleCustomer(fixture, { users: 600, groups: 2 });
    const { customerId } = customer;
    await waitForFirstCycle(fixture, customerId);
    const { sandbox } = fixture.stack;

    // Slow pages: the cycle spans chunks, and each chunk asks Entra ID for a token.
    const slow = sandbox.faults.add({
      pathPattern: TEAMS_USERS_PATH.source,
      kind: 'latency',
      latencyMs: 300,
    });
    const before = new Date().toISOString();
    await fixture.call('POST', `/api/v1/customers/${customerId}/replication`);
    // Watch the sandbox, not the status: the status shows pages only when a chunk ends, and on a busy
    // machine the last chunk may have its token by then. The second page is served well inside the first.
    await waitFor('the second slow page', async () => (slow.hits >= 2 ? true : undefined), 15_000);
    // The customer's admin deletes the app's secret.
    const application = sandbox.state.application(customer.appId);
    application?.passwordCredentials.splice(0);

    const failed = await waitForStatus(
      fixture,
      customerId,
      // The credential is marked first, then the cycle ends: wait for both.
      (s) => s.state === 'authentication-failed' && s.currentCycle === null,
      20_000,
    );
    sandbox.faults.remove(slow.id);
    expect(failed.currentCycle).toBeNull();
    expect(failed.lastCycle).toMatchObject({ kind: 'full', outcome: 'failed' });
    expect((failed.lastCycle?.startedAt ?? '') > before).toBe(true);
    expect(failed.message).toMatch(/secret/i);

    const rows = await fixture.call('GET', '/api/v1/authentication-status');
    const row = (rows.body as { value: Array<Record<string, unknown>> }).value.find(
      (r) => r.customerId === customerId,
    );
    expect(row).toMatchObject({ lastVerificationStatus: 'failed' });
    const alarms = await fixture.call('GET', '/api/v1/alarms?active=true');
    const alarm = (alarms.body as { value: Array<Record<string, unknown>> }).value.find(
      (a) => a.name === CREDENTIAL_ALARM && a.source === credentialAlarmSource(customerId),
    );
    expect(alarm).toMatchObject({ severity: 'major', clearedAt: null });
    expect(String(alarm?.text)).toMatch(/Replication stopped/);

    // No further attempt: not by a click, not by a queued trigger, not by the timer.
    sandbox.requests.clear();
    const click = await fixture.call('POST', `/api/v1/customers/${customerId}/replication`);
    expect(click.status).toBe(409);
    await replicationQueue().send({
      type: 'trigger',
      customerId,
      kind: 'quick',
      reason: 'change',
      requestedAt: new Date().toISOString(),
    });
    await fixture.services.replication.tick();
    const skipped = await waitForStatus(fixture, customerId, (s) => s.skipped !== null, 15_000);
    expect(skipped.skipped?.message).toMatch(/^Replication skipped: Authentication Status is Failed/);
    await sleep(1000);
    const tenantId = customer.tenant.options.tenantId;
    const touched = sandbox.requests
      .list()
      .filter((r) => /^\/(graph|teams)\//.test(r.path) || r.path.includes(tenantId));
    expect(touched).toEqual([]);
    expect((await replicationStatus(fixture, customerId)).lastCycle?.id).toBe(failed.lastCycle?.id);

    // A new secret, entered through Update: replication starts again by itself and the alarm clears.
    const secret = sandbox.state.addSecret(customer.appId);
    const since = new Date().toISOString();
    const updated = await fixture.call(
      'PUT',
      `/api/v1/authentication-status/${customerId}/app-registration`,
      {
        json: { clientId: customer.appId, clientSecret: secret.secretText },
      },
    );
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    const again = await waitForCycleAfter(fixture, customerId, since);
    expect(again).toMatchObject({
      state: 'idle',
      lastCycle: { reason: 'credentials', outcome: 'succeeded' },
    });
    const cleared = await fixture.call('GET', '/api/v1/alarms?active=true');
    expect(
      (cleared.body as { value: Array<Record<string, unknown>> }).value.filter(
        (a) => a.source === credentialAlarmSource(customerId),
      ),
    ).toEqual([]);
  });
});

describe('drift', () => {
  it('reports a voice route changed behind our back, and clears once it is put back and a cycle ran', async () => {
    const shortName = `Drift${Math.random().toString(36).slice(2, 6)}`;
    // Onboarded before site records existed: the trunk is `<Short Name>.<region FQDN>`.
    const gateway = `${shortName.toLowerCase()}.customers.voice.example`;
    const customer = await connectScaleCustomer(fixture, {
      users: 40,
      groups: 1,
      shortName,
      gateways: [gateway],
    });
    const { customerId } = customer;
    const tenantId = customer.tenant.options.tenantId;
    const first = await waitForFirstCycle(fixture, customerId);
    const drift = async () => {
      const response = await fixture.call('GET', `/api/v1/customers/${customerId}/drift`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body as DriftReport;
    };
    const quickCycle = async () => {
      const before = new Date().toISOString();
      const queued = await fixture.call('POST', `/api/v1/customers/${customerId}/replication?kind=quick`);
      expect(queued.status).toBe(202);
      const done = await waitForCycleAfter(fixture, customerId, before);
      expect(done.lastCycle).toMatchObject({ kind: 'quick', outcome: 'succeeded' });
      return done;
    };

    expect(await drift()).toMatchObject({
      status: 'in-sync',
      basis: 'gateway',
      cycleId: first.lastCycle?.id,
      sites: [{ siteName: shortName, gatewayFqdn: gateway, templateId: 'm365-default-onboarding' }],
      items: [],
    });

    // Someone edits the route in the Teams admin center.
    fixture.stack.sandbox.teams.update(tenantId, 'OnlineVoiceRoute', 'Unrestricted', {
      NumberPattern: '^\\+44\\d+$',
    });
    const changed = await quickCycle();
    const report = await drift();
    expect(report).toMatchObject({ status: 'drift', basis: 'gateway', cycleId: changed.lastCycle?.id });
    expect(report.items).toEqual([
      expect.objectContaining({
        siteName: shortName,
        gatewayFqdn: gateway,
        action: 'conflict',
        powerShell: expect.stringMatching(
          /^New-CsOnlineVoiceRoute -Identity 'Unrestricted' -NumberPattern '\.\*'/,
        ),
        message: expect.stringMatching(/already exists and differs: NumberPattern is .*, not "\.\*"/),
      }),
    ]);

    // Its pattern put back, but the trunk taken out of the route: onboarding would have to add it again.
    const teams = fixture.stack.sandbox.teams;
    teams.create(tenantId, 'OnlinePSTNGateway', {
      Identity: 'other.carrier.example',
      SipSignalingPort: 5061,
    });
    teams.update(tenantId, 'OnlineVoiceRoute', 'Unrestricted', {
      NumberPattern: '.*',
      OnlinePstnGatewayList: ['other.carrier.example'],
    });
    const rerouted = await quickCycle();
    const second = await drift();
    expect(second).toMatchObject({ status: 'drift', cycleId: rerouted.lastCycle?.id });
    expect(second.items).toEqual([
      expect.objectContaining({
        gatewayFqdn: gateway,
        policyName: 'OnlineVoiceRoute',
        identity: 'Unrestricted',
        changes: expect.objectContaining({ OnlinePstnGatewayList: expect.arrayContaining([gateway]) }),
        message: null,
      }),
    ]);

    // Put back as onboarding left it: the next cycle finds nothing to say.
    teams.update(tenantId, 'OnlineVoiceRoute', 'Unrestricted', { OnlinePstnGatewayList: [gateway] });
    const restored = await quickCycle();
    expect(await drift()).toMatchObject({ status: 'in-sync', cycleId: restored.lastCycle?.id, items: [] });
  });
});
