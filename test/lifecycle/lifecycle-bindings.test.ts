import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLifecycleService } from '../../shared/lifecycle/lifecycle-service.js';
import { createLifecycleStore } from '../../shared/lifecycle/lifecycle-store.js';
import { createUserTemplateStore } from '../../shared/lifecycle/user-template-store.js';
import { waitFor } from '../consent/consent-fixture.js';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type FakeUserChanges, fakeUserChanges } from '../support/fake-user-changes.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';
import { mirrorUser } from '../support/mirror-user.js';
import { customerRange } from '../support/number-range.js';

/**
 * Issue 12 items 3 and 4: security-group bindings (Lifecycle Management) and the pass that gives each member the
 * template of the lowest rank they match, queuing only differences; its preview; its resume after a crash.
 */

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;
let fake: FakeUserChanges;
let rangeId: string;

const CUSTOMER = 'LcCo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const BINDINGS = `${BASE}/lifecycle/bindings`;
const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const groupOf = (i: number) => `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const upnOf = (i: number) => `user${i}@lcco.example`;
const SALES = groupOf(1);
const LONDON = groupOf(2);
const BIG = groupOf(3);

const ok = async (response: Promise<ApiResponse>, status = 200) => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(status);
  return answered;
};

interface BindingView {
  id: string;
  rank: number;
  templateName: string | null;
  groups: Array<{ id: string; displayName: string | null }>;
  members: number | null;
  applied: number | null;
  refused: number | null;
  overrides: number | null;
  error: string | null;
}
interface PassView {
  joined: number;
  changed: number;
  left: number;
  refused: number;
  overrides: number;
  imports: string[];
}

const setMembers = async (groupId: string, members: readonly string[]) => {
  const old = await stack.services.mirror.memberChunks(CUSTOMER, groupId);
  await stack.services.mirror.replaceMemberChunks(
    CUSTOMER,
    groupId,
    [{ tag: 'seed', members }],
    old.map((c) => c.rowKey),
    'test',
  );
};

const template = async (json: Record<string, unknown>) =>
  ((await ok(call('POST', `${BASE}/user-templates`, { json }), 201)).body as { id: number }).id;

const bindings = async () => {
  const response = await ok(call('GET', BINDINGS));
  return {
    list: (response.body as { value: BindingView[] }).value,
    etag: response.headers.get('etag') ?? '',
  };
};

/** One pass, as a replication cycle runs it, and every import it queued applied. */
const pass = async (): Promise<PassView> => {
  const summary = await stack.services.lifecycle.run(CUSTOMER);
  for (const id of summary?.imports ?? []) {
    await waitFor(`import ${id}`, async () => {
      const view = (await call('GET', `${BASE}/user-imports/${id}`)).body as { state: string };
      return view.state === 'completed' ? view : undefined;
    });
  }
  return (await ok(call('GET', `${BASE}/lifecycle/last-pass`))).body as PassView;
};

const user = async (i: number) => {
  const found = await stack.services.mirror.getUserVersion(CUSTOMER, idOf(i));
  if (!found) throw new Error(`user ${i} not mirrored`);
  return found;
};

let voiceTemplate: number;
let salesTemplate: number;

beforeAll(async () => {
  fake = fakeUserChanges();
  stack = await startMemoryStack({ overrides: { userChangeExecution: fake } });
  fake.mirror = stack.services.mirror;
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  await ok(
    call('POST', '/api/v1/customers', {
      json: { fullName: 'Lc Co Ltd', shortName: CUSTOMER, licenseType: 'hosted-pro', licensedUsers: 500 },
    }),
    201,
  );
  rangeId = await customerRange(stack, call, {
    customerId: CUSTOMER,
    key: 'lc',
    ipAddress: '192.0.2.40',
    start: '+442079460000',
    end: '+442079479999',
  });
  await stack.services.mirror.putUsers(
    CUSTOMER,
    Array.from({ length: 10 }, (_, i) => mirrorUser({ id: idOf(i), userPrincipalName: upnOf(i) })),
    'seed',
  );
  await stack.services.mirror.putGroups(
    CUSTOMER,
    [
      { id: SALES, displayName: 'Sales Voice', description: null, mailEnabled: false, securityEnabled: true },
      { id: LONDON, displayName: 'London', description: null, mailEnabled: false, securityEnabled: true },
      { id: BIG, displayName: 'Everyone', description: null, mailEnabled: false, securityEnabled: true },
    ],
    'seed',
  );
  await stack.services.mirror.putVoiceObjects(
    CUSTOMER,
    [
      { policyName: 'OnlineVoiceRoutingPolicy', identity: 'Tag:VRP-London', data: {} },
      { policyName: 'OnlineVoiceRoutingPolicy', identity: 'Tag:VRP-Sales', data: {} },
    ],
    [],
    'seed',
  );
  voiceTemplate = await template({
    name: 'London voice',
    enterpriseVoice: 'enable',
    assignNumberFrom: 'number-range',
    numberRangeId: rangeId,
    policies: [{ policyType: 'voice-routing', value: 'VRP-London' }],
  });
  salesTemplate = await template({
    name: 'Sales',
    enterpriseVoice: 'enable',
    assignNumberFrom: 'number-range',
    numberRangeId: rangeId,
    policies: [{ policyType: 'voice-routing', value: 'VRP-Sales' }],
  });
}, 60_000);
afterAll(async () => stack?.close());

describe('Lifecycle Management bindings', () => {
  it('refuses a group replication has not seen, a template the customer lacks, and no group at all', async () => {
    const refused = async (json: Record<string, unknown>, status: number, code: string) => {
      const response = await call('POST', BINDINGS, { json });
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(response.body).toMatchObject({ code });
    };
    await refused({ templateId: voiceTemplate, groupIds: [groupOf(99)] }, 409, 'binding_group_unknown');
    await refused({ templateId: 999, groupIds: [SALES] }, 409, 'template_invalid');
    await refused({ templateId: voiceTemplate, groupIds: [] }, 400, 'validation_failed');
    await refused({ templateId: voiceTemplate, groupIds: [SALES, SALES] }, 400, 'validation_failed');
    expect((await bindings()).list).toEqual([]);
  });
});

describe('the lifecycle pass', () => {
  let voiceBinding: string;

  it('gives a user who joins the bound group the next free number and the policy; a second pass queues nothing', async () => {
    const created = await ok(
      call('POST', BINDINGS, {
        json: { templateId: voiceTemplate, groupIds: [LONDON], onLeave: 'remove', quarantineDays: 30 },
      }),
      201,
    );
    voiceBinding = (created.body as BindingView).id;
    expect(created.body).toMatchObject({
      rank: 1,
      templateName: 'London voice',
      groups: [{ id: LONDON, displayName: 'London' }],
      members: null,
    });
    await setMembers(LONDON, [idOf(1)]);

    const preview = (await ok(call('GET', `${BASE}/lifecycle/preview`))).body as {
      joins: number;
      users: Array<{
        userId: string;
        kind: string;
        changes: Array<{ field: string; value: unknown; before: unknown }>;
      }>;
    };
    expect(preview.joins).toBe(1);
    expect(preview.users[0]).toMatchObject({ userId: idOf(1), kind: 'join' });
    expect(preview.users[0]?.changes).toContainEqual({
      field: 'line-uri',
      value: 'tel:+442079460000',
      before: null,
    });
    // The preview queued nothing.
    expect(fake.calls.get(idOf(1))).toBeUndefined();

    const first = await pass();
    expect(first).toMatchObject({ joined: 1, changed: 0, left: 0, refused: 0 });
    const joined = await user(1);
    expect(joined.user.lineUri).toBe('tel:+442079460000');
    expect(joined.user.enterpriseVoiceEnabled).toBe(true);
    expect(joined.user.policies.OnlineVoiceRoutingPolicy).toBe('VRP-London');
    expect(joined.template).toBe(String(voiceTemplate));
    expect((await ok(call('GET', `${BASE}/lifecycle/users/${idOf(1)}`))).body).toMatchObject({
      state: 'applied',
      rank: 1,
      templateName: 'London voice',
      reason: null,
    });
    expect((await ok(call('GET', `${BASE}/lifecycle/users/${idOf(5)}`))).body).toMatchObject({
      state: 'none',
    });

    const calls = fake.applied.length;
    const second = await pass();
    expect(second).toMatchObject({ joined: 0, changed: 0, left: 0, imports: [] });
    expect(fake.applied).toHaveLength(calls);
    const [row] = (await bindings()).list;
    expect(row).toMatchObject({ members: 1, applied: 1, refused: 0, overrides: 0, error: null });
  });

  it('gives a number to a user moved into a numbered persona who has none, and keeps a number otherwise', async () => {
    const plain = await template({
      name: 'No number',
      enterpriseVoice: 'enable',
      policies: [{ policyType: 'voice-routing', value: 'VRP-Sales' }],
    });
    const group = groupOf(5);
    await stack.services.mirror.putGroups(
      CUSTOMER,
      [{ id: group, displayName: 'Movers', description: null, mailEnabled: false, securityEnabled: true }],
      'seed',
    );
    await setMembers(group, [idOf(6)]);
    await ok(call('POST', BINDINGS, { json: { templateId: plain, groupIds: [group] } }), 201);
    expect(await pass()).toMatchObject({ joined: 1 });
    expect((await user(6)).user.lineUri).toBeNull();

    const numbered = await ok(
      call('POST', BINDINGS, { json: { templateId: voiceTemplate, groupIds: [group] } }),
      201,
    );
    const { etag } = await bindings();
    await ok(
      call('POST', `${BINDINGS}/${(numbered.body as BindingView).id}/move`, {
        json: { rank: 1 },
        headers: { 'if-match': etag },
      }),
    );
    expect(await pass()).toMatchObject({ changed: 1 });
    const moved = await user(6);
    expect(moved.user.lineUri).toMatch(/^tel:\+4420794/);
    expect(moved.user.policies.OnlineVoiceRoutingPolicy).toBe('VRP-London');
    // Both bindings go, for the tests that follow: user6 keeps what it has (keep is the default).
    for (const name of ['London voice', 'No number']) {
      const current = await bindings();
      const id = current.list.find((b) => b.groups[0]?.id === group && b.templateName === name)?.id;
      await ok(call('DELETE', `${BINDINGS}/${id}`, { headers: { 'if-match': current.etag } }), 204);
    }
    expect(await pass()).toMatchObject({ joined: 0, changed: 0, left: 0 });
  });

  it('refuses to delete a bound template, naming the binding', async () => {
    const refused = await call('DELETE', `${BASE}/user-templates/${voiceTemplate}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'template_bound' });
    expect((refused.body as { detail: string }).detail).toContain('Rank 1');
  });

  it('gives the lowest rank to a user in two bindings, and re-evaluates when they are reordered', async () => {
    const sales = await ok(
      call('POST', BINDINGS, { json: { templateId: salesTemplate, groupIds: [SALES, LONDON] } }),
      201,
    );
    const salesBinding = (sales.body as BindingView).id;
    // user2 is in both groups (rank 1 London wins); user3 only in Sales (no binding of Sales alone).
    await setMembers(LONDON, [idOf(1), idOf(2)]);
    await setMembers(SALES, [idOf(2), idOf(3)]);
    const joined = await pass();
    expect(joined).toMatchObject({ joined: 1 });
    expect((await user(2)).user.policies.OnlineVoiceRoutingPolicy).toBe('VRP-London');
    expect((await user(3)).user.lineUri).toBeNull();

    const { etag } = await bindings();
    // A pass notes its outcomes on the list meanwhile: the operator's copy is still current.
    await stack.services.lifecycle.run(CUSTOMER);
    expect((await bindings()).etag).toBe(etag);
    const moved = await ok(
      call('POST', `${BINDINGS}/${salesBinding}/move`, { json: { rank: 1 }, headers: { 'if-match': etag } }),
    );
    expect((moved.body as { value: BindingView[] }).value.map((b) => b.templateName)).toEqual([
      'Sales',
      'London voice',
    ]);
    // The copy read before the move is stale now.
    const stale = await call('POST', `${BINDINGS}/${salesBinding}/move`, {
      json: { rank: 2 },
      headers: { 'if-match': etag },
    });
    expect(stale.status).toBe(412);

    const number = (await user(2)).user.lineUri;
    const changed = await pass();
    expect(changed).toMatchObject({ joined: 0, changed: 1 });
    const after = await user(2);
    expect(after.user.policies.OnlineVoiceRoutingPolicy).toBe('VRP-Sales');
    // A number from a range is given once: the user keeps theirs.
    expect(after.user.lineUri).toBe(number);
    expect(after.template).toBe(String(salesTemplate));
    expect(await pass()).toMatchObject({ joined: 0, changed: 0, left: 0 });
  });

  it('leaves a user an operator changed by hand as they are, and shows it', async () => {
    await stack.services.mirror.markPending(CUSTOMER, idOf(1), false, { edited: true });
    const { etag } = await bindings();
    // The London template now gives another policy: everyone it was given to would be changed.
    await ok(
      call('PUT', `${BASE}/user-templates/${voiceTemplate}`, {
        json: {
          name: 'London voice',
          enterpriseVoice: 'enable',
          assignNumberFrom: 'number-range',
          numberRangeId: rangeId,
          policies: [{ policyType: 'voice-routing', value: 'VRP-Sales' }],
        },
      }),
    );
    const preview = (await ok(call('GET', `${BASE}/lifecycle/preview`))).body as {
      overrides: number;
      users: Array<{ userId: string; kind: string; problem: string | null }>;
    };
    expect(preview.overrides).toBe(1);
    expect(preview.users.find((u) => u.userId === idOf(1))).toMatchObject({ kind: 'override' });
    const result = await pass();
    expect(result).toMatchObject({ overrides: 1, changed: 0 });
    expect((await user(1)).user.policies.OnlineVoiceRoutingPolicy).toBe('VRP-London');
    const london = (await bindings()).list.find((b) => b.id === voiceBinding);
    expect(london).toMatchObject({ overrides: 1 });
    expect((await ok(call('GET', `${BASE}/lifecycle/users/${idOf(1)}`))).body).toMatchObject({
      state: 'override',
    });
    expect(etag).not.toBe('');
  });

  it('takes back what the template gave a user who leaves (remove), and holds the number in quarantine', async () => {
    // user1's override ends when a template is applied to them by hand: the binding's own then applies.
    await ok(
      call('POST', `${BASE}/user-templates/${voiceTemplate}/apply`, {
        json: { users: [{ userId: idOf(1) }] },
      }),
      202,
    );
    const number = (await user(1)).user.lineUri;
    await setMembers(LONDON, [idOf(2)]);
    const left = await pass();
    expect(left).toMatchObject({ left: 1 });
    const gone = await user(1);
    expect(gone.user.lineUri).toBeNull();
    expect(gone.user.policies.OnlineVoiceRoutingPolicy).toBe('Global');
    expect(gone.template).toBeNull();
    const reserved = (await ok(call('GET', `${BASE}/reserved-numbers`))).body as {
      value: Array<{ lineUri: string; reason: string; expireDate: string | null }>;
    };
    expect(reserved.value).toContainEqual(
      expect.objectContaining({ lineUri: number, reason: 'Quarantine', expireDate: expect.any(String) }),
    );
    // The quarantined number is not given to the next joiner.
    await setMembers(BIG, [idOf(4)]);
    await ok(call('POST', BINDINGS, { json: { templateId: voiceTemplate, groupIds: [BIG] } }), 201);
    await pass();
    expect((await user(4)).user.lineUri).not.toBe(number);
    expect(await pass()).toMatchObject({ joined: 0, changed: 0, left: 0, imports: [] });
  });
});

describe('a first pass over a large group', () => {
  it('provisions 10,000 members once each, though the pass and then the import crash midway', async () => {
    const members = Array.from({ length: 10_000 }, (_, i) => idOf(100_000 + i));
    for (let i = 0; i < members.length; i += 1000) {
      await stack.services.mirror.putUsers(
        CUSTOMER,
        members
          .slice(i, i + 1000)
          .map((id, k) => mirrorUser({ id, userPrincipalName: upnOf(100_000 + i + k) })),
        'seed',
      );
    }
    const group = groupOf(10);
    await stack.services.mirror.putGroups(
      CUSTOMER,
      [{ id: group, displayName: 'Big', description: null, mailEnabled: false, securityEnabled: true }],
      'seed',
    );
    await setMembers(group, members);
    const bigTemplate = await template({
      name: 'Big',
      enterpriseVoice: 'enable',
      policies: [{ policyType: 'voice-routing', value: 'VRP-Sales' }],
    });
    await ok(call('POST', BINDINGS, { json: { templateId: bigTemplate, groupIds: [group] } }), 201);
    // A customer has at most 500 Licensed Users (the manual): these users are not billed by template here.
    await ok(
      call('PUT', `${BASE}/license/factors`, {
        json: { factors: { byTemplate: false, byUserInterface: false, serviceNumbers: true } },
      }),
    );

    // A host that dies after its pass journaled and queued the imports, before it noted what they took.
    const dying = createLifecycleService({
      store: createLifecycleStore(stack.tables),
      templateStore: createUserTemplateStore(stack.tables),
      templates: stack.services.userTemplates,
      customers: stack.services.customers,
      mirror: stack.services.mirror,
      imports: {
        ...stack.services.userImports,
        invalidRows: () => Promise.reject(new Error('host died')),
      },
      numbers: stack.services.numbers,
    });
    await expect(dying.run(CUSTOMER)).rejects.toThrow('host died');

    fake.applied.length = 0;
    fake.calls.clear();
    fake.crashAfter = 4000;
    const resumed = await stack.services.lifecycle.run(CUSTOMER);
    // The resumed journal's import, not a second one: the new pass found nothing left to queue.
    expect(resumed?.imports).toEqual([]);
    const imports = (await ok(call('GET', `${BASE}/user-imports`))).body as {
      value: Array<{ id: string; rowsTotal: number; state: string }>;
    };
    const big = imports.value.filter((v) => v.rowsTotal === 10_000);
    expect(big).toHaveLength(1);
    await waitFor(
      'the 10,000-row import',
      async () => {
        const view = (await call('GET', `${BASE}/user-imports/${big[0]?.id}`)).body as {
          state: string;
          rowsApplied: number;
        };
        return view.state === 'completed' ? view : undefined;
      },
      120_000,
    );
    expect(fake.crashAfter).toBeUndefined();
    const perUser = new Map<string, number>();
    for (const a of fake.applied) perUser.set(a.userId, (perUser.get(a.userId) ?? 0) + 1);
    expect(perUser.size).toBe(10_000);
    // Enterprise Voice and the policy: two changes each, each applied once.
    expect([...perUser.values()].every((n) => n === 2)).toBe(true);
    const row = (await bindings()).list.find((b) => b.templateName === 'Big');
    expect(row).toMatchObject({ members: 10_000, applied: 10_000, refused: 0 });
    expect(await pass()).toMatchObject({ joined: 0, changed: 0, imports: [] });
  }, 180_000);
});
