import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, demoGroupId } from '../../dev/sandbox/demo-data.js';
import type { ReplicationMessage } from '../../shared/replication/replication-service.js';
import {
  type CycleKind,
  createReplicationStoreOn,
  REPLICATION_QUEUE,
} from '../../shared/replication/replication-store.js';
import { createTrustedTransport, type TrustedTransport } from '../../shared/net/trusted-transport.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { TEST_REPLICATION } from './replication-fixture.js';

/**
 * A customer on an ordinary tenant (the demo Contoso, with its security groups), connected through its own app
 * registration: memberships changed through the sandbox's control API reach the mirror with the next cycle.
 */

const contoso = DEMO.customers.contoso;
const CUSTOMER = 'ContosoGroups';
const salesVoice = demoGroupId(contoso.tenantId, 'sales-voice');
const supportVoice = demoGroupId(contoso.tenantId, 'support-voice');

let stack: MemoryStackWithPeers;
let transport: TrustedTransport;

beforeAll(async () => {
  // Messages are handed to the service by the test: each cycle runs to its end before the test looks.
  stack = await startMemoryStackWithPeers({
    deliverQueues: false,
    settings: { replication: { ...TEST_REPLICATION } },
  });
  transport = createTrustedTransport(stack.sandbox.caCertFile);
  const token = await stack.token();
  const call = apiClient(stack.api, async () => token);
  const created = await call('POST', '/api/v1/customers', {
    json: {
      fullName: 'Contoso Groups Ltd',
      shortName: CUSTOMER,
      licenseType: 'hosted-pro',
      licensedUsers: 10,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await stack.services.credentials.connectAppRegistration(CUSTOMER, {
    tenantId: contoso.tenantId,
    clientId: contoso.appRegistration.clientId,
    clientSecret: contoso.appRegistration.clientSecret,
  });
}, 60_000);
afterAll(async () => {
  await transport?.close();
  await stack?.close();
});

/** Runs a cycle to its end the way the queue would: the trigger, then each continuation it asks for. */
async function runCycle(kind: CycleKind): Promise<void> {
  let message: ReplicationMessage = {
    type: 'trigger',
    customerId: CUSTOMER,
    kind,
    reason: 'manual',
    requestedAt: new Date().toISOString(),
  };
  for (let i = 0; i < 50; i++) {
    await stack.services.replication.handle(message);
    const { cycle } = await stack.services.replication.status(CUSTOMER);
    if (!cycle) {
      const { status } = await stack.services.replication.status(CUSTOMER);
      expect(status.lastCycle).toMatchObject({ kind, outcome: 'succeeded' });
      return;
    }
    message = { type: 'continue', customerId: CUSTOMER, cycleId: cycle.id };
  }
  throw new Error('The cycle did not end.');
}

async function membership(method: 'PUT' | 'DELETE', groupId: string, userPrincipalName: string) {
  const response = await transport.fetch(
    `${stack.sandbox.url}/_sandbox/scale/tenants/${contoso.tenantId}/groups/${groupId}/members/${userPrincipalName}`,
    { method },
  );
  expect(response.status, await response.text()).toBe(204);
}

const membersOf = async (groupId: string) =>
  (await stack.services.mirror.memberChunks(CUSTOMER, groupId)).flatMap((c) => c.members).sort();
const groupNamesOf = async (userId: string) =>
  (await stack.services.mirror.groupsOfUser(CUSTOMER, userId)).map((g) => g.displayName);

const userIdOf = (userPrincipalName: string) => {
  const user = [...stack.sandbox.state.requireTenant(contoso.tenantId).users.values()].find(
    (u) => u.userPrincipalName === userPrincipalName,
  );
  if (!user) throw new Error(`No demo user ${userPrincipalName}.`);
  return user.id;
};
const sandboxMembersOf = (groupId: string) =>
  [...(stack.sandbox.state.requireTenant(contoso.tenantId).groups.get(groupId)?.members ?? [])].sort();

describe('the groups of an ordinary tenant', () => {
  it('are listed with their members by the first full cycle', async () => {
    await runCycle('full');
    const groups = await stack.services.mirror.listGroups(CUSTOMER, 10);
    expect(groups.items.map((g) => g.displayName).sort()).toEqual(['Sales Voice', 'Support Voice']);
    expect(await membersOf(salesVoice)).toEqual(sandboxMembersOf(salesVoice));
    expect(await membersOf(supportVoice)).toEqual(sandboxMembersOf(supportVoice));
    expect(await groupNamesOf(userIdOf(contoso.user.userPrincipalName))).toEqual(['Sales Voice']);
  });

  it('follow a member added through the control API with a quick cycle, and its removal with the next', async () => {
    const admin = userIdOf(contoso.admin.userPrincipalName);
    expect(await groupNamesOf(admin)).toEqual([]);

    await membership('PUT', supportVoice, contoso.admin.userPrincipalName);
    await runCycle('quick');
    expect(await membersOf(supportVoice)).toContain(admin);
    expect(await groupNamesOf(admin)).toEqual(['Support Voice']);

    await membership('DELETE', supportVoice, contoso.admin.userPrincipalName);
    await runCycle('quick');
    expect(await membersOf(supportVoice)).not.toContain(admin);
    expect(await membersOf(supportVoice)).toEqual(sandboxMembersOf(supportVoice));
    expect(await groupNamesOf(admin)).toEqual([]);
  });

  it('start over with a full cycle when Graph answers 400 syncStateNotFound to week-old delta links', async () => {
    const store = createReplicationStoreOn(stack.tables);
    const before = await store.status(CUSTOMER);
    expect(before?.usersDelta).toBeTruthy();
    // Graph keeps users and groups deltaLinks for seven days: these are as a customer paused for eight days holds them.
    await store.updateStatus(CUSTOMER, (s) => ({
      ...s,
      usersDelta: aged(s.usersDelta ?? '', 8),
      groupsDelta: aged(s.groupsDelta ?? '', 8),
    }));
    stack.queues.take(REPLICATION_QUEUE);

    const outcome = await stack.services.replication.handle({
      type: 'trigger',
      customerId: CUSTOMER,
      kind: 'quick',
      reason: 'manual',
      requestedAt: new Date().toISOString(),
    } satisfies ReplicationMessage);
    expect(outcome).toBe('failed');
    expect(await store.status(CUSTOMER)).toMatchObject({ usersDelta: null, groupsDelta: null });
    const queued = stack.queues.take(REPLICATION_QUEUE).map((q) => q.message);
    expect(queued).toEqual([
      expect.objectContaining({ type: 'trigger', kind: 'full', customerId: CUSTOMER }),
    ]);

    await runCycle('full');
    const after = await store.status(CUSTOMER);
    expect(after?.usersDelta).toBeTruthy();
    expect(after?.usersDelta).not.toBe(before?.usersDelta);
    expect(await membersOf(salesVoice)).toEqual(sandboxMembersOf(salesVoice));
    // The new links are Graph's current ones: the next quick cycle follows them.
    await runCycle('quick');
  });
});

/** A deltaLink as the sandbox would have handed it out `days` ago (its token is the sandbox's base64url JSON). */
function aged(link: string, days: number): string {
  const url = new URL(link);
  const token = url.searchParams.get('$deltatoken') ?? '';
  const state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  url.searchParams.set(
    '$deltatoken',
    Buffer.from(JSON.stringify({ ...state, t: Date.now() - days * 86_400_000 })).toString('base64url'),
  );
  return url.toString();
}
