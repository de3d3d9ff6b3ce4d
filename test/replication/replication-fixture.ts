import { expect } from 'vitest';
import { addReplicationApp, createScaleTenant } from '../../dev/sandbox/scale-control.js';
import type { ScaleDirectory } from '../../dev/sandbox/scale-tenant.js';
import type { AppServices } from '../../functions/app-services.js';
import { createReplicationStore } from '../../shared/replication/replication-store.js';
import type { ReplicationStatusView } from '../../shared/replication/replication-views.js';
import { apiClient } from '../support/api-client.js';
import { startStack, type TestStack } from '../support/stack.js';

export type Call = ReturnType<typeof apiClient>;

export interface ReplicationFixture {
  readonly stack: TestStack;
  readonly call: Call;
  readonly services: AppServices;
  readonly store: ReturnType<typeof createReplicationStore>;
  close(): Promise<void>;
}

/** Replication's settings for tests: small pages, short leases and chunks, no scheduled cycles in the way. */
export const TEST_REPLICATION = {
  quickIntervalSeconds: 86_400,
  quickDelaySeconds: 1,
  fullIntervalSeconds: 7 * 86_400,
  maxParallelCycles: 4,
  leaseSeconds: 3,
  chunkSeconds: 2,
  pageSize: 40,
} as const;

export async function startReplicationFixture(): Promise<ReplicationFixture> {
  const stack = await startStack({
    queuePollIntervalMs: 100,
    settings: { replication: { ...TEST_REPLICATION } },
  });
  return {
    stack,
    services: stack.services,
    call: apiClient(stack.apiUrl, () => stack.token()),
    store: createReplicationStore(stack.storageConnectionString),
    close: () => stack.close(),
  };
}

export interface ConnectedCustomer {
  readonly customerId: string;
  readonly tenant: ScaleDirectory;
  readonly appId: string;
  readonly secret: string;
}

let counter = 0;

/**
 * A customer (Hosted Pro) whose Microsoft 365 tenant is a generated one, connected through its own app
 * registration; connecting verifies the credentials, which queues the first replication.
 */
export async function connectScaleCustomer(
  fixture: ReplicationFixture,
  options: {
    readonly users: number;
    readonly groups?: number;
    readonly shortName?: string;
    /** The tenant's PSTN gateways (the seeded default is named after its initial domain). */
    readonly gateways?: readonly string[];
  },
): Promise<ConnectedCustomer> {
  counter++;
  const shortName = options.shortName ?? `Repl${counter}${Math.random().toString(36).slice(2, 6)}`;
  const { sandbox } = fixture.stack;
  const tenant = createScaleTenant(
    { state: sandbox.state, teams: sandbox.teams, directories: sandbox.directories },
    {
      displayName: `${shortName} Ltd`,
      users: options.users,
      ...(options.groups !== undefined ? { groups: options.groups } : {}),
      ...(options.gateways ? { gateways: [...options.gateways] } : {}),
      seed: shortName,
    },
  );
  const tenantId = tenant.options.tenantId;
  const app = addReplicationApp(sandbox, tenantId, `${shortName} sync`);
  const created = await fixture.call('POST', '/api/v1/customers', {
    json: { fullName: `${shortName} Ltd`, shortName, licenseType: 'hosted-pro', licensedUsers: 10 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await fixture.services.credentials.connectAppRegistration(shortName, {
    tenantId,
    clientId: app.appId,
    clientSecret: app.secretText,
  });
  return { customerId: shortName, tenant, appId: app.appId, secret: app.secretText };
}

export async function replicationStatus(fixture: ReplicationFixture, customerId: string) {
  const response = await fixture.call('GET', `/api/v1/customers/${customerId}/replication`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as ReplicationStatusView;
}

/** Polls the status until `done` holds (or fails with the last status seen). */
export async function waitForStatus(
  fixture: ReplicationFixture,
  customerId: string,
  done: (status: ReplicationStatusView) => boolean,
  timeoutMs = 45_000,
): Promise<ReplicationStatusView> {
  const until = Date.now() + timeoutMs;
  let last = await replicationStatus(fixture, customerId);
  while (!done(last)) {
    if (Date.now() > until) throw new Error(`Timed out; last status: ${JSON.stringify(last, null, 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    last = await replicationStatus(fixture, customerId);
  }
  return last;
}

/** Waits for the customer's first cycle (queued when its credentials were verified) to end. */
export function waitForFirstCycle(fixture: ReplicationFixture, customerId: string) {
  return waitForStatus(fixture, customerId, (s) => s.lastCycle !== null && s.currentCycle === null);
}

/** Waits for a cycle that started after `since` to finish. */
export function waitForCycleAfter(fixture: ReplicationFixture, customerId: string, since: string) {
  return waitForStatus(
    fixture,
    customerId,
    (s) => s.lastCycle !== null && s.lastCycle.startedAt > since && s.currentCycle === null,
  );
}

/** Every page of a list endpoint. */
export async function listAll<T>(fixture: ReplicationFixture, path: string): Promise<T[]> {
  const items: T[] = [];
  let next: string | null = path;
  while (next) {
    const response = await fixture.call('GET', next);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const body = response.body as { value: T[]; nextLink: string | null };
    items.push(...body.value);
    next = body.nextLink;
  }
  return items;
}

interface UserRow {
  id: string;
  userPrincipalName: string;
  displayName: string | null;
  department: string | null;
  usageLocation: string | null;
  accountEnabled: boolean | null;
  enterpriseVoiceEnabled: boolean;
  lineUri: string | null;
  onlineVoiceRoutingPolicy: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
}

/** What the mirror should hold for the tenant as it is now. */
function expectedUsers(tenant: ScaleDirectory): UserRow[] {
  return tenant.usersAfter(undefined, Number.MAX_SAFE_INTEGER).flatMap((user) => {
    const teams = tenant.teamsUser(user.id);
    if (!teams) return [];
    const number = teams.telephoneNumbers[0]?.telephoneNumber;
    const policy = teams.effectivePolicyAssignments.find((a) => a.policyType === 'OnlineVoiceRoutingPolicy');
    return [
      {
        id: user.id,
        userPrincipalName: user.userPrincipalName,
        displayName: user.displayName,
        department: user.department,
        usageLocation: user.usageLocation,
        accountEnabled: user.accountEnabled,
        enterpriseVoiceEnabled: teams.isEnterpriseVoiceEnabled,
        lineUri: number ? `tel:${number}` : null,
        onlineVoiceRoutingPolicy: policy?.policyAssignment.displayName ?? null,
        businessPhones: [...user.businessPhones],
        mobilePhone: user.mobilePhone,
      },
    ];
  });
}

/** The mirror (through the API) equals the generated tenant: users, groups and every membership. */
export async function expectMirrorEqualsTenant(fixture: ReplicationFixture, customer: ConnectedCustomer) {
  const base = `/api/v1/customers/${customer.customerId}`;
  const users = await listAll<UserRow & Record<string, unknown>>(fixture, `${base}/users?top=37`);
  const pick = (u: UserRow): UserRow => ({
    id: u.id,
    userPrincipalName: u.userPrincipalName,
    displayName: u.displayName,
    department: u.department,
    usageLocation: u.usageLocation,
    accountEnabled: u.accountEnabled,
    enterpriseVoiceEnabled: u.enterpriseVoiceEnabled,
    lineUri: u.lineUri,
    onlineVoiceRoutingPolicy: u.onlineVoiceRoutingPolicy,
    businessPhones: u.businessPhones,
    mobilePhone: u.mobilePhone,
  });
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
  expect(users.map(pick).sort(byId)).toEqual(expectedUsers(customer.tenant).sort(byId));

  const groups = await listAll<{ id: string; displayName: string | null }>(fixture, `${base}/groups?top=2`);
  const tenantGroups = customer.tenant.groupsAfter(undefined, Number.MAX_SAFE_INTEGER);
  expect(groups.map((g) => ({ id: g.id, displayName: g.displayName })).sort(byId)).toEqual(
    tenantGroups.map((g) => ({ id: g.id, displayName: g.displayName })).sort(byId),
  );
  for (const group of tenantGroups) {
    const members = await listAll<{ id: string }>(fixture, `${base}/groups/${group.id}/members?top=500`);
    const expected: string[] = [];
    let cursor: string | undefined;
    do {
      const chunk = customer.tenant.members(group.id, cursor, 1000);
      expected.push(...chunk.ids);
      cursor = chunk.next;
    } while (cursor);
    expect(members.map((m) => m.id).sort(), `members of ${group.displayName}`).toEqual(expected.sort());
  }
  const status = await replicationStatus(fixture, customer.customerId);
  expect(status.counts.users).toBe(users.length);
  expect(status.counts.groups).toBe(tenantGroups.length);
}
