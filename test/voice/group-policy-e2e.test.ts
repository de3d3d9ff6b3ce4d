import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { StateTenantDirectory } from '../../dev/sandbox/tenant-directory.js';
import { addGroup } from '../../dev/sandbox/tenant-groups.js';
import { waitFor } from '../consent/consent-fixture.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStackWithPeers, startMemoryStackWithPeers } from '../support/memory-stack.js';
import { buildDeployedCustomer } from '../support/onboarded-world.js';
import { type VoiceProblem, voiceCalls } from '../support/voice-e2e.js';

/**
 * Granting a voice routing policy to a security group (issue 13 item 1, the manual's "Apply Routing Policy to
 * Security Group"), end to end: the API in process, Contoso's tenant (with its security groups) in the HTTPS sandbox.
 * Each grant, rank change and removal is a queued voice change; Teams (the sandbox) keeps the ranks 1…n the way the
 * service does, the mirror shows them at once, the audit has old → new ranks, and a rollback puts them back.
 */
const CUSTOMER = 'GroupCo';
const BASE = `/api/v1/customers/${CUSTOMER}`;
const VOICE = `${BASE}/voice`;
const TENANT = DEMO.customers.contoso.tenantId;
const TYPE = 'OnlineVoiceRoutingPolicy';

const USAGE = 'Group-Usage';
const SALES_POLICY = 'Sales-Routing';
const SUPPORT_POLICY = 'Support-Routing';
const NOT_SECURITY = '0f0f0f0f-0000-4000-8000-000000000001';
const UNKNOWN = '0f0f0f0f-0000-4000-8000-000000000002';

type Call = ReturnType<typeof apiClient>;
let stack: MemoryStackWithPeers;
let call: Call;
let sales: string;
let support: string;

interface Plan {
  readonly objects: Array<{
    identity: string;
    action: string;
    fields: Array<{ property: string; oldValue: unknown; newValue: unknown }>;
  }>;
  readonly commands: string[];
}
interface Assignment {
  readonly groupId: string;
  readonly groupDisplayName: string | null;
  readonly policyName: string;
  readonly rank: number;
  readonly etag: string;
}
type Problem = VoiceProblem;

/** Teams' own view (the sandbox): group → policy@rank, in rank order. */
const inTeams = () =>
  stack.sandbox.teams
    .groupAssignments(TENANT)
    .filter((a) => a.PolicyType === TYPE)
    .map((a) => `${a.GroupId === sales ? 'sales' : 'support'}:${a.PolicyName}@${a.Rank}`);
const listed = async (path: string) => ((await ok(call('GET', path))).body as { value: Assignment[] }).value;
const groupsOf = (policy: string) => `${VOICE}/voice-routing-policies/${policy}/groups`;

const { ok, applied, taskCount } = voiceCalls(() => call, BASE);

beforeAll(async () => {
  stack = await startMemoryStackWithPeers({
    sandbox: { timeScale: 0.01 },
    overrides: { userChangeDebounceMs: 200 },
  });
  // A Microsoft 365 group without security: Teams takes it, the product refuses it as a target.
  addGroup(stack.sandbox.state.requireTenant(TENANT), {
    id: NOT_SECURITY,
    displayName: 'All Company',
    mailEnabled: true,
    securityEnabled: false,
    groupTypes: ['Unified'],
  });
  const token = await stack.token();
  call = apiClient(stack.api, async () => token);
  await buildDeployedCustomer(stack, call, token, CUSTOMER);
  // Contoso's security groups, once a replication cycle has mirrored them: the checks read them there.
  const groups = await waitFor('the mirrored security groups', async () => {
    const page = await stack.services.mirror.listGroups(CUSTOMER, 50);
    const byName = (name: string) => page.items.find((g) => g.displayName === name)?.id;
    const found = [byName('Sales Voice'), byName('Support Voice'), byName('All Company')];
    return found.every((id) => id !== undefined) ? (found as string[]) : undefined;
  });
  [sales = '', support = ''] = groups;
  await applied(call('POST', `${VOICE}/pstn-usages`, { json: { name: USAGE } }));
  for (const identity of [SALES_POLICY, SUPPORT_POLICY]) {
    await applied(call('POST', `${VOICE}/voice-routing-policies`, { json: { identity, usages: [USAGE] } }));
  }
}, 180_000);
afterAll(async () => stack?.close());

describe('granting a voice routing policy to a security group, against the sandbox', () => {
  it('grants, ranks, audits and rolls back group assignments', async () => {
    const first = await applied(call('POST', groupsOf(SALES_POLICY), { json: { groupId: sales } }));
    expect(first.plan.commands).toEqual([
      `New-CsGroupPolicyAssignment -GroupId '${sales}' -PolicyType '${TYPE}' -PolicyName '${SALES_POLICY}' -Rank 1`,
    ]);
    expect(inTeams()).toEqual([`sales:${SALES_POLICY}@1`]);
    expect(await listed(groupsOf(SALES_POLICY))).toMatchObject([
      { groupId: sales, groupDisplayName: 'Sales Voice', policyName: SALES_POLICY, rank: 1 },
    ]);

    // Put first: the Sales group's assignment moves down one, as Teams does it, and the plan says so.
    const second = await applied(
      call('POST', groupsOf(SUPPORT_POLICY), { json: { groupId: support, rank: 1 } }),
    );
    expect(second.plan.objects.map((o) => [o.action, o.fields])).toEqual([
      [
        'create',
        [
          { property: 'policyName', oldValue: null, newValue: SUPPORT_POLICY },
          { property: 'rank', oldValue: null, newValue: 1 },
        ],
      ],
      ['update', [{ property: 'rank', oldValue: 1, newValue: 2 }]],
    ]);
    expect(inTeams()).toEqual([`support:${SUPPORT_POLICY}@1`, `sales:${SALES_POLICY}@2`]);
    expect(
      (await listed(`${VOICE}/group-policy-assignments`)).map((a) => [a.groupDisplayName, a.rank]),
    ).toEqual([
      ['Support Voice', 1],
      ['Sales Voice', 2],
    ]);

    // The rank change (If-Match from the read), then its rollback.
    const [current] = await listed(groupsOf(SALES_POLICY));
    const dry = await ok(
      call('PUT', `${groupsOf(SALES_POLICY)}/${sales}?dryRun=true`, {
        json: { rank: 1 },
        headers: { 'if-match': current?.etag ?? '' },
      }),
    );
    expect((dry.body as { plan: Plan; task: null }).task).toBeNull();
    expect((dry.body as { plan: Plan }).plan.commands[0]).toBe(
      `Set-CsGroupPolicyAssignment -GroupId '${sales}' -PolicyType '${TYPE}' -Rank 1`,
    );
    await applied(
      call('PUT', `${groupsOf(SALES_POLICY)}/${sales}`, {
        json: { rank: 1 },
        headers: { 'if-match': current?.etag ?? '' },
      }),
    );
    expect(inTeams()).toEqual([`sales:${SALES_POLICY}@1`, `support:${SUPPORT_POLICY}@2`]);
    await ok(
      call('PUT', `${groupsOf(SALES_POLICY)}/${sales}`, {
        json: { rank: 2 },
        headers: { 'if-match': current?.etag ?? '' },
      }),
      412,
    );
    const [entry] = (
      (await ok(call('GET', `${VOICE}/audit`))).body as {
        value: Array<{ id: string; objects: Plan['objects'] }>;
      }
    ).value;
    expect(entry?.objects.map((o) => o.fields)).toEqual([
      [{ property: 'rank', oldValue: 2, newValue: 1 }],
      [{ property: 'rank', oldValue: 1, newValue: 2 }],
    ]);
    await applied(call('POST', `${VOICE}/audit/${entry?.id}/rollback`));
    expect(inTeams()).toEqual([`support:${SUPPORT_POLICY}@1`, `sales:${SALES_POLICY}@2`]);
    expect((await listed(groupsOf(SALES_POLICY)))[0]?.rank).toBe(2);

    // A member of the Sales group without a direct grant has the group's policy in Teams' effective view (what
    // replication mirrors and the simulator's `userId` reads); a direct grant would win.
    const member = [...(stack.sandbox.state.requireTenant(TENANT).groups.get(sales)?.members ?? [])].find(
      (id) => stack.sandbox.teams.grants(TENANT, id)[TYPE] === undefined,
    );
    const effective = new StateTenantDirectory(stack.sandbox.state.requireTenant(TENANT), stack.sandbox.teams)
      .teamsUser(member ?? '')
      ?.effectivePolicyAssignments.find((p) => p.policyType === TYPE);
    expect(effective?.policyAssignment).toMatchObject({
      displayName: SALES_POLICY,
      assignmentType: 'group',
      groupId: sales,
    });
  });

  it('refuses to delete a policy granted to a group, naming the group, and queues nothing', async () => {
    const before = await taskCount();
    const refused = await ok(call('DELETE', `${VOICE}/voice-routing-policies/${SALES_POLICY}`), 409);
    expect((refused.body as Problem).code).toBe('voice_object_in_use');
    expect((refused.body as Problem).detail).toContain(`group "Sales Voice" (${sales})`);
    expect(await taskCount()).toBe(before);
  });

  it('refuses an unknown group, a group that is no security group, and a second policy for a group', async () => {
    const before = await taskCount();
    const codeOf = async (groupId: string) => {
      const refused = await ok(call('POST', groupsOf(SALES_POLICY), { json: { groupId } }), 400);
      return (refused.body as Problem).errors?.map((e) => [e.field, e.code]);
    };
    expect(await codeOf(UNKNOWN)).toEqual([['groupId', 'group_unknown']]);
    expect(await codeOf(NOT_SECURITY)).toEqual([['groupId', 'group_not_security']]);
    expect(await codeOf(support)).toEqual([['groupId', 'group_assigned']]);
    await ok(call('GET', `${VOICE}/voice-routing-policies/Nope/groups`), 404);
    expect(await taskCount()).toBe(before);
  });

  it('takes the policy from a group: the later ranks move up', async () => {
    await applied(call('DELETE', `${groupsOf(SUPPORT_POLICY)}/${support}`));
    expect(inTeams()).toEqual([`sales:${SALES_POLICY}@1`]);
    expect(await listed(groupsOf(SUPPORT_POLICY))).toEqual([]);
    expect((await listed(groupsOf(SALES_POLICY)))[0]?.rank).toBe(1);
    // Without a group, the policy can go.
    await applied(call('DELETE', `${groupsOf(SALES_POLICY)}/${sales}`));
    await applied(call('DELETE', `${VOICE}/voice-routing-policies/${SUPPORT_POLICY}`));
  });
});
