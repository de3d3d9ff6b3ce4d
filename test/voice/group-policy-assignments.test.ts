import { describe, expect, it } from 'vitest';
import { TeamsAdminState } from '../../dev/sandbox/teams-state.js';
import type { MirrorVoiceObject } from '../../shared/replication/mirror-store.js';
import { renderPowerShell } from '../../shared/teams/powershell.js';
import {
  assignmentChanges,
  groupAssignmentsOf,
  groupErrors,
} from '../../shared/voice/group-policy-assignments.js';
import {
  commandsOf,
  inverseOf,
  VoiceConfig,
  type VoiceObjectChange,
} from '../../shared/voice/voice-change.js';
import { fieldErrorsOf, referencesTo } from '../../shared/voice/voice-change-rules.js';

const TYPE = 'OnlineVoiceRoutingPolicy';
const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const C = 'cccccccc-0000-4000-8000-000000000003';
const D = 'dddddddd-0000-4000-8000-000000000004';

const assignment = (groupId: string, policyName: string, rank: number): MirrorVoiceObject => ({
  policyName: 'GroupPolicyAssignment',
  identity: `${TYPE}:${groupId}`,
  data: {
    Identity: `${TYPE}:${groupId}`,
    GroupId: groupId,
    PolicyType: TYPE,
    PolicyName: policyName,
    Rank: rank,
  },
});
const policy = (name: string): MirrorVoiceObject => ({
  policyName: TYPE,
  identity: `Tag:${name}`,
  data: { Identity: `Tag:${name}`, OnlinePstnUsages: [] },
});

/** Three groups granted London, Paris, London at ranks 1, 2, 3. */
const config = new VoiceConfig([
  policy('London'),
  policy('Paris'),
  assignment(A, 'London', 1),
  assignment(B, 'Paris', 2),
  assignment(C, 'London', 3),
]);
const ranks = (cfg: VoiceConfig) => groupAssignmentsOf(cfg, TYPE).map((a) => `${a.groupId[0]}${a.rank}`);
const summary = (changes: readonly VoiceObjectChange[]) =>
  changes.map(
    (c) =>
      `${c.identity.slice(TYPE.length + 1, TYPE.length + 2)}:${c.before?.rank ?? '-'}>${c.after?.rank ?? '-'}`,
  );
const errors = (changes: readonly VoiceObjectChange[]) =>
  fieldErrorsOf(config, changes).map((e) => [e.field, e.code]);

describe('the changes of a group assignment, with the ranks Teams moves', () => {
  it('puts a new assignment at a taken rank before the one there, and the later ones down', () => {
    const changes = assignmentChanges(config, TYPE, D, { policyName: 'Paris', rank: 2 });
    expect(summary(changes)).toEqual(['d:->2', 'b:2>3', 'c:3>4']);
    expect(ranks(config.with(changes))).toEqual(['a1', 'd2', 'b3', 'c4']);
    expect(errors(changes)).toEqual([]);
    expect(changes.flatMap(commandsOf).map(renderPowerShell)[0]).toBe(
      `New-CsGroupPolicyAssignment -GroupId '${D}' -PolicyType '${TYPE}' -PolicyName 'Paris' -Rank 2`,
    );
  });

  it('puts a new assignment without a rank, or past the end, at the end', () => {
    expect(summary(assignmentChanges(config, TYPE, D, { policyName: 'Paris' }))).toEqual(['d:->4']);
    expect(summary(assignmentChanges(config, TYPE, D, { policyName: 'Paris', rank: 99 }))).toEqual(['d:->4']);
  });

  it('moves an assignment, and the ones between move the other way', () => {
    const changes = assignmentChanges(config, TYPE, C, { policyName: 'London', rank: 1 });
    expect(summary(changes)).toEqual(['c:3>1', 'a:1>2', 'b:2>3']);
    expect(changes.flatMap(commandsOf).map(renderPowerShell)).toEqual([
      `Set-CsGroupPolicyAssignment -GroupId '${C}' -PolicyType '${TYPE}' -Rank 1`,
      `Set-CsGroupPolicyAssignment -GroupId '${A}' -PolicyType '${TYPE}' -Rank 2`,
      `Set-CsGroupPolicyAssignment -GroupId '${B}' -PolicyType '${TYPE}' -Rank 3`,
    ]);
    // The same rank is no change at all.
    expect(assignmentChanges(config, TYPE, C, { policyName: 'London', rank: 3 })).toEqual([]);
  });

  it('removes an assignment, and the later ones move up', () => {
    const changes = assignmentChanges(config, TYPE, A, null);
    expect(summary(changes)).toEqual(['a:1>-', 'b:2>1', 'c:3>2']);
    expect(changes.flatMap(commandsOf).map(renderPowerShell)[0]).toBe(
      `Remove-CsGroupPolicyAssignment -GroupId '${A}' -PolicyType '${TYPE}'`,
    );
  });

  it.each([
    ['a move', assignmentChanges(config, TYPE, C, { policyName: 'London', rank: 1 })],
    ['an insert', assignmentChanges(config, TYPE, D, { policyName: 'Paris', rank: 1 })],
    ['a removal', assignmentChanges(config, TYPE, B, null)],
  ])('rolls %s back to the ranks before, through Teams’ own renumbering', (_, changes) => {
    // The sandbox plays Teams: each command as the engine sends it, then the inverse in reverse order.
    const teams = new TeamsAdminState();
    const tenant = 'tenant';
    const group = () => ({ securityEnabled: true, mailEnabled: false, groupTypes: [] });
    teams.create(tenant, TYPE, { Identity: 'London' });
    teams.create(tenant, TYPE, { Identity: 'Paris' });
    for (const [id, name] of [
      [A, 'London'],
      [B, 'Paris'],
      [C, 'London'],
    ] as const) {
      teams.createGroupAssignment(tenant, { GroupId: id, PolicyType: TYPE, PolicyName: name }, group, null);
    }
    const run = (list: readonly VoiceObjectChange[]) => {
      for (const change of list) {
        const [groupId = ''] = [change.identity.slice(TYPE.length + 1)];
        const held = teams.groupAssignments(tenant).find((a) => a.GroupId === groupId);
        if (change.after === null) {
          if (held) teams.deleteGroupAssignment(tenant, groupId, TYPE);
        } else if (!held) {
          teams.createGroupAssignment(
            tenant,
            {
              GroupId: groupId,
              PolicyType: TYPE,
              PolicyName: change.after.policyName,
              Rank: change.after.rank,
            },
            group,
            null,
          );
        } else if (held.Rank !== change.after.rank) {
          teams.updateGroupAssignment(tenant, groupId, TYPE, { Rank: change.after.rank });
        }
      }
    };
    const shown = () => teams.groupAssignments(tenant).map((a) => `${a.GroupId[0]}${a.Rank}`);
    run(changes);
    expect(shown()).toEqual(ranks(config.with(changes)));
    run(changes.map(inverseOf).reverse());
    expect(shown()).toEqual(['a1', 'b2', 'c3']);
  });
});

describe('the checks of a group assignment, before queuing', () => {
  it('refuses a policy that does not exist, a bad rank and a taken rank', () => {
    const create = (policyName: string, rank: number): VoiceObjectChange => ({
      kind: 'group-policy-assignments',
      identity: `${TYPE}:${D}`,
      before: null,
      after: { policyName, rank },
    });
    expect(errors([create('Berlin', 4)])).toEqual([['policyName', 'policy_unknown']]);
    expect(errors([create('London', 0)])).toEqual([['rank', 'rank_invalid']]);
    // Built by hand, without moving the others: two assignments would share rank 1.
    expect(errors([create('London', 1)])).toEqual([['rank', 'rank_taken']]);
  });

  it('refuses a second assignment of the type for a group', () => {
    const again: VoiceObjectChange = {
      kind: 'group-policy-assignments',
      identity: `${TYPE}:${A}`,
      before: null,
      after: { policyName: 'Paris', rank: 1 },
    };
    expect(errors([again])).toContainEqual(['groupId', 'group_assigned']);
  });

  it('knows the group from the mirror, and takes security groups only', () => {
    const group = { id: A, displayName: 'All Company', description: null, mailEnabled: true };
    expect(groupErrors(A, null).map((e) => e.code)).toEqual(['group_unknown']);
    expect(groupErrors(A, { ...group, securityEnabled: false }).map((e) => e.code)).toEqual([
      'group_not_security',
    ]);
    expect(groupErrors(A, { ...group, securityEnabled: true })).toEqual([]);
  });

  it('leaves the naming of the groups that hold a policy to the service (the mirror names them)', () => {
    const removal: VoiceObjectChange = {
      kind: 'voice-routing-policies',
      identity: 'London',
      before: config.state('voice-routing-policies', 'London'),
      after: null,
    };
    expect(referencesTo(config, removal)).toEqual([]);
  });
});

describe('the sandbox’s group policy assignments, as Teams checks them', () => {
  const tenant = 'tenant';
  const security = () => ({ securityEnabled: true, mailEnabled: false, groupTypes: [] });
  const fresh = () => {
    const teams = new TeamsAdminState();
    teams.create(tenant, TYPE, { Identity: 'London' });
    return teams;
  };

  it('refuses an unknown group, a second assignment, an unknown policy and a type groups cannot get', () => {
    const teams = fresh();
    const body = { GroupId: A, PolicyType: TYPE, PolicyName: 'London' };
    expect(() => teams.createGroupAssignment(tenant, body, () => undefined, null)).toThrow(/not found/);
    teams.createGroupAssignment(tenant, body, security, null);
    expect(() => teams.createGroupAssignment(tenant, body, security, null)).toThrow(/already has/);
    expect(() =>
      teams.createGroupAssignment(tenant, { ...body, GroupId: B, PolicyName: 'Nope' }, security, null),
    ).toThrow(/not found/);
    expect(() =>
      teams.createGroupAssignment(
        tenant,
        { GroupId: B, PolicyType: 'TeamsUpgradePolicy', PolicyName: 'Global' },
        security,
        null,
      ),
    ).toThrow(/cannot be assigned to a group/);
    expect(() =>
      teams.createGroupAssignment(tenant, { ...body, GroupId: B, Rank: 0 }, security, null),
    ).toThrow(/positive integer/);
  });

  it('refuses to remove a policy a group holds, and inherits it to members without a direct grant', () => {
    const teams = fresh();
    teams.createGroupAssignment(
      tenant,
      { GroupId: A, PolicyType: TYPE, PolicyName: 'London' },
      security,
      null,
    );
    expect(() => teams.delete(tenant, TYPE, 'London')).toThrow(/group policy assignment of group/);
    expect(teams.groupGrant(tenant, TYPE, (id) => id === A)).toEqual({ identity: 'Tag:London', groupId: A });
    expect(teams.groupGrant(tenant, TYPE, () => false)).toBeUndefined();
  });

  it('keeps the assignments across a restart (the state file)', () => {
    const teams = fresh();
    teams.createGroupAssignment(
      tenant,
      { GroupId: A, PolicyType: TYPE, PolicyName: 'London' },
      security,
      null,
    );
    const restored = new TeamsAdminState();
    restored.restore(JSON.parse(JSON.stringify(teams.snapshotAll())));
    expect(restored.groupAssignments(tenant)).toEqual(teams.groupAssignments(tenant));
  });
});
