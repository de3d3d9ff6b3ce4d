import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsentFlowStore } from '../../shared/consent/consent-flow-store.js';
import { createCredentialStore } from '../../shared/credentials/credential-store.js';
import { createPrefixCacheStore } from '../../shared/dialplan/prefix-cache-store.js';
import { createReplicationStoreOn } from '../../shared/replication/replication-store.js';
import type { Tables } from '../../shared/storage/versioned-table.js';
import { createVoiceChangeStore } from '../../shared/voice/voice-change-store.js';
import { waitFor } from '../consent/consent-fixture.js';
import { lines, settled } from '../onboarding/onboarding-fixture.js';
import { apiClient } from '../support/api-client.js';
import { connectedCredential } from '../support/connected-credential.js';
import { faultyTables } from '../support/faulty-tables.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { buildDeployedCustomer } from '../support/onboarded-world.js';
import { CHANNEL, CHANNEL_ADMIN } from '../support/roles.js';

/**
 * Issue 14, item 2: a customer's identity must not outlive its Short Name. The attack: remove a customer, create
 * one of the same Short Name, and look for anything of the former one — its Microsoft 365 credential (its tenant),
 * tasks, audit, license history, prefixes, invitation, replicated users, drift. The provider still reads the
 * former customer's audit, under its uid.
 */

const NAME = 'Contoso';
/** A customer whose purge is interrupted by a storage failure, once. */
const CRASHED = 'Crashy';

let stack: MemoryStackWithPeers;
let call: ReturnType<typeof apiClient>;
/** Arms one failure of the next invitation delete: the purge's fourth part or so, midway. */
let failNextInvitationDelete = false;

type Page<T> = { value: T[]; nextLink: string | null };
const body = async <T>(path: string): Promise<T> => {
  const response = await call('GET', path);
  expect(response.status, `${path}: ${JSON.stringify(response.body)}`).toBe(200);
  return response.body as T;
};
const customerOf = (name: string) => body<{ uid: string; createdAt: string }>(`/api/v1/customers/${name}`);

async function remove(name: string) {
  const deleted = await call('DELETE', `/api/v1/customers/${name}`);
  expect(deleted.status, JSON.stringify(deleted.body)).toBe(202);
  const removal = await settled(call, deleted.headers.get('location') ?? '');
  expect(removal.state, lines(removal).join('\n')).toBe('finish-success');
  expect((await call('GET', `/api/v1/customers/${name}`)).status).toBe(404);
  return removal;
}

async function create(name: string) {
  const created = await call('POST', '/api/v1/customers', {
    json: { fullName: `${name} Again Ltd`, shortName: name, licenseType: 'hosted-pro', licensedUsers: 5 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({
    wrapTables: (tables: Tables) =>
      faultyTables(tables, (c) => {
        if (!failNextInvitationDelete || c.table !== 'invitations' || c.operation !== 'delete') return false;
        failNextInvitationDelete = false;
        return true;
      }),
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  await buildDeployedCustomer(stack, call, token, NAME);
}, 180_000);
afterAll(async () => stack?.close());

describe('a later customer of a removed customer’s Short Name', () => {
  let former: { uid: string; createdAt: string };
  let formerAudit: string[];
  let formerTasks: string[];

  beforeAll(async () => {
    // What the former customer leaves under its name: an audited change, its license history, its prefixes, a
    // queued voice change (desired state), an invitation, and its replicated directory (the onboarding's).
    former = await customerOf(NAME);
    const patched = await call('PATCH', `/api/v1/customers/${NAME}`, { json: { licensedUsers: 30 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((await call('POST', `/api/v1/customers/${NAME}/license/refresh`)).status).toBeLessThan(300);
    const reload = await call('POST', `/api/v1/customers/${NAME}/prefixes/reload`);
    expect(reload.status, JSON.stringify(reload.body)).toBeLessThan(300);
    if (reload.status === 202) await settled(call, reload.headers.get('location') ?? '');
    const usage = await call('POST', `/api/v1/customers/${NAME}/voice/pstn-usages`, {
      json: { name: 'FormerUsage' },
    });
    expect(usage.status, JSON.stringify(usage.body)).toBe(202);
    await settled(call, usage.headers.get('location') ?? '');
    const invited = await call('POST', `/api/v1/customers/${NAME}/invitations`, {
      json: { invitationEmail: 'it@contoso.example' },
    });
    expect(invited.status, JSON.stringify(invited.body)).toBeLessThan(300);

    expect((await body<Page<unknown>>(`/api/v1/customers/${NAME}/users`)).value.length).toBeGreaterThan(0);
    expect(
      (await body<Page<unknown>>(`/api/v1/customers/${NAME}/license/history`)).value.length,
    ).toBeGreaterThan(0);
    expect(await createPrefixCacheStore(stack.tables).list(NAME)).not.toEqual([]);
    expect(await createVoiceChangeStore(stack.tables).desired(NAME)).not.toEqual([]);
    formerAudit = (await body<Page<{ id: string }>>(`/api/v1/customers/${NAME}/audit`)).value.map(
      (e) => e.id,
    );
    formerTasks = (await body<Page<{ id: string }>>(`/api/v1/customers/${NAME}/tasks`)).value.map(
      (t) => t.id,
    );
    expect(formerAudit.length).toBeGreaterThan(0);
    expect(formerTasks.length).toBeGreaterThan(0);

    const removal = await remove(NAME);
    expect(lines(removal)).toContain('Customer data deleted.');
    await create(NAME);
  }, 180_000);

  it('is another customer: a new uid', async () => {
    expect((await customerOf(NAME)).uid).not.toBe(former.uid);
  });

  it('inherits no credential: it cannot act on the former tenant', async () => {
    expect(await createCredentialStore(stack.tables).get(NAME)).toBeNull();
    const status = await body<{ value: Array<{ customerId: string }> }>('/api/v1/authentication-status');
    expect(status.value.map((r) => r.customerId.toLowerCase())).not.toContain(NAME.toLowerCase());
    // Its replication (the onboarding's first reach into the tenant) finds no credential to use.
    const replication = await call('POST', `/api/v1/customers/${NAME}/replication`);
    expect(replication.status).toBe(409);
    expect(JSON.stringify(replication.body)).toContain('credential');
  });

  it('sees none of the former tasks and audit', async () => {
    const tasks = (await body<Page<{ id: string }>>(`/api/v1/customers/${NAME}/tasks`)).value.map(
      (t) => t.id,
    );
    expect(tasks.filter((id) => formerTasks.includes(id))).toEqual([]);
    const audit = await body<Page<{ id: string; operation: string }>>(`/api/v1/customers/${NAME}/audit`);
    expect(audit.value.filter((e) => formerAudit.includes(e.id))).toEqual([]);
    expect(audit.value.map((e) => e.operation)).not.toContain('customers-delete');
  });

  it('cannot read a former task by its id, which the provider still can', async () => {
    const put = async (path: string, json?: unknown) =>
      expect((await call('PUT', path, json ? { json } : {})).status).toBeLessThan(300);
    await put(`/api/v1/channels/${CHANNEL}`, { name: 'Reseller A' });
    await put(`/api/v1/channels/${CHANNEL}/admins/${CHANNEL_ADMIN}`);
    await put(`/api/v1/customers/${NAME}/channel`, { channelId: CHANNEL });
    const token = await stack.token({ roles: ['channel-admin'], subject: CHANNEL_ADMIN });
    const channelAdmin = apiClient(stack.api, async () => token);
    const formerTask = `/api/v1/tasks/${formerTasks[0] ?? ''}`;
    expect((await channelAdmin('GET', formerTask)).status).toBe(403);
    expect((await channelAdmin('GET', `/api/v1/customers/${NAME}/tasks`)).status).toBe(200);
    expect((await call('GET', formerTask)).status).toBe(200);
  });

  it('has no license history, prefixes, invitation, users, drift or voice state', async () => {
    expect((await body<Page<unknown>>(`/api/v1/customers/${NAME}/license/history`)).value).toEqual([]);
    expect(await createPrefixCacheStore(stack.tables).list(NAME)).toEqual([]);
    expect((await call('GET', `/api/v1/invitations/${NAME}`)).status).toBe(404);
    expect((await body<Page<unknown>>(`/api/v1/customers/${NAME}/users`)).value).toEqual([]);
    const drift = await call('GET', `/api/v1/customers/${NAME}/drift`);
    expect(JSON.stringify(drift.body)).not.toContain('FormerUsage');
    expect(await createVoiceChangeStore(stack.tables).desired(NAME)).toEqual([]);
    expect(await createConsentFlowStore(stack.tables).forgetCustomer(NAME)).toBe(0);
  });

  it('leaves the former customer’s audit to the provider, under its uid', async () => {
    const removed =
      await body<Page<{ uid: string; shortName: string; removedAt: string }>>('/api/v1/removed-customers');
    expect(removed.value).toContainEqual(expect.objectContaining({ uid: former.uid, shortName: NAME }));
    const audit = await body<Page<{ id: string }>>(`/api/v1/removed-customers/${former.uid}/audit?top=500`);
    expect(audit.value.map((e) => e.id)).toEqual(expect.arrayContaining(formerAudit));
    expect(
      (await call('GET', '/api/v1/removed-customers/77777777-7777-4777-8777-777777777777/audit')).status,
    ).toBe(404);
  });
});

describe('a removal whose purge fails midway', () => {
  it('deletes everything on its retry, and records the removal once', async () => {
    await create(CRASHED);
    const { uid } = await customerOf(CRASHED);
    const invited = await call('POST', `/api/v1/customers/${CRASHED}/invitations`, {
      json: { invitationEmail: 'it@crashy.example' },
    });
    expect(invited.status, JSON.stringify(invited.body)).toBeLessThan(300);
    await createCredentialStore(stack.tables).put(
      connectedCredential(CRASHED, 'c1c1c1c1-0000-4000-8000-0000000000c1'),
    );
    await createVoiceChangeStore(stack.tables).putDesired(CRASHED, [
      {
        kind: 'pstn-usages',
        identity: 'CrashUsage',
        state: null,
        setBy: 'test',
        setAt: new Date().toISOString(),
        entryId: null,
      },
    ]);
    failNextInvitationDelete = true;

    const removal = await remove(CRASHED);
    expect(failNextInvitationDelete).toBe(false);
    const purge = removal.steps.find((s) => s.name === 'ForgetCustomerData');
    expect(purge?.attempts).toBe(2);
    expect(lines(removal).filter((l) => l === 'Customer data deleted.')).toHaveLength(1);

    expect((await call('GET', `/api/v1/invitations/${CRASHED}`)).status).toBe(404);
    expect(await createCredentialStore(stack.tables).get(CRASHED)).toBeNull();
    expect(await createVoiceChangeStore(stack.tables).desired(CRASHED)).toEqual([]);
    expect(await createReplicationStoreOn(stack.tables).customerLeaseUntil(CRASHED)).toBe(0);
    const removed = await body<Page<{ uid: string }>>('/api/v1/removed-customers');
    expect(removed.value.filter((r) => r.uid === uid)).toHaveLength(1);
  });
});

describe('a customer removed before removals were recorded', () => {
  it('leaves nothing to the next customer of its name, and its history to the provider', async () => {
    const name = 'Oldco';
    await create(name);
    const patched = await call('PATCH', `/api/v1/customers/${name}`, { json: { licensedUsers: 7 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const formerAudit = (await body<Page<{ id: string }>>(`/api/v1/customers/${name}/audit`)).value.map(
      (e) => e.id,
    );
    expect(formerAudit.length).toBeGreaterThan(0);
    const removal = await remove(name);

    // As a removal of old left it: no removal record, and its data still under the name.
    const records = stack.tables.table<{ partitionKey: string; rowKey: string; shortName: string }>(
      'removedcustomers',
    );
    for await (const { value } of records.list()) {
      if (value.shortName === name) await records.delete(value.partitionKey, value.rowKey);
    }
    const voice = createVoiceChangeStore(stack.tables);
    await voice.putDesired(name, [
      {
        kind: 'pstn-usages',
        identity: 'OldUsage',
        state: null,
        setBy: 'test',
        setAt: new Date().toISOString(),
        entryId: null,
      },
    ]);
    expect((await body<Page<unknown>>('/api/v1/removed-customers')).value).not.toContainEqual(
      expect.objectContaining({ shortName: name }),
    );

    await create(name);
    const tasks = (await body<Page<{ id: string }>>(`/api/v1/customers/${name}/tasks`)).value.map(
      (t) => t.id,
    );
    expect(tasks).not.toContain(removal.id);
    const audit = (await body<Page<{ id: string }>>(`/api/v1/customers/${name}/audit`)).value.map(
      (e) => e.id,
    );
    expect(audit.filter((id) => formerAudit.includes(id))).toEqual([]);
    expect(await voice.desired(name)).toEqual([]);

    const removed = await body<Page<{ uid: string; shortName: string }>>('/api/v1/removed-customers');
    const record = removed.value.find((r) => r.shortName === name);
    expect(record).toBeDefined();
    const kept = await body<Page<{ id: string }>>(
      `/api/v1/removed-customers/${record?.uid ?? ''}/audit?top=500`,
    );
    expect(kept.value.map((e) => e.id)).toEqual(expect.arrayContaining(formerAudit));
  });
});

describe('the daily credential verification', () => {
  it('deletes a credential whose customer was removed before removals deleted them, and verifies no other', async () => {
    const credentials = createCredentialStore(stack.tables);
    // Left by a removal of old; and one a wizard session holds for the customer its Submit will create.
    await credentials.put(connectedCredential('Removed', 'd1d1d1d1-0000-4000-8000-0000000000d1'));
    await credentials.put({
      ...connectedCredential('Pending', 'e1e1e1e1-0000-4000-8000-0000000000e1'),
      heldByWizardSession: '0123456789abcdef0123456789abcdef',
    });
    const queued = await call('POST', '/api/v1/authentication-status/verify-all');
    expect(queued.status).toBe(202);
    await waitFor('the removed customer’s credential to go', async () =>
      (await credentials.get('Removed')) === null ? true : undefined,
    );
    expect(await credentials.get('Pending')).not.toBeNull();
    const rows = await body<{ value: Array<{ customerId: string }> }>('/api/v1/authentication-status');
    expect(rows.value.map((r) => r.customerId)).not.toContain('Removed');
  });
});
