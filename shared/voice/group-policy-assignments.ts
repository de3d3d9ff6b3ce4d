import type { FieldError } from '../errors/domain-errors.js';
import type { MirrorGroup } from '../replication/mirror-store.js';
import {
  GROUP_POLICY_ASSIGNMENT,
  groupAssignmentIdentity,
  groupAssignmentKey,
} from '../teams/teams-admin-client.js';
import type { VoiceConfig, VoiceObjectChange, VoiceState } from './voice-change.js';

/**
 * Granting a policy to a group (issue 13 item 1, the manual's "Apply Routing Policy to Security Group"): Teams' group
 * policy assignments (New/Set/Remove-CsGroupPolicyAssignment). Each is a voice object of kind
 * `group-policy-assignments` (identity `{PolicyType}:{GroupId}`, properties `policyName` and `rank`), so the queued
 * task, the dry run, the audit and rollback are the voice objects'.
 *
 * Rank (New-CsGroupPolicyAssignment on learn.microsoft.com): the place of the assignment among the assignments of
 * the same policy type, 1 first; a user in several groups inherits the best-ranked group's policy, and a direct
 * grant wins over every group's. Teams keeps a type's ranks 1…n: an assignment put at a rank that is taken goes
 * before the one there, which moves down one, and a removal moves the later ones up. The changes below therefore
 * carry every assignment whose rank moves, so the audit shows each old → new rank, the mirror is refreshed for each,
 * and a rollback (the same changes inverted, in reverse order) puts every rank back.
 */

/** The policy type the API grants to groups today (the manual's page is the voice routing policies'). */
export const VOICE_ROUTING_POLICY_TYPE = 'OnlineVoiceRoutingPolicy';

export interface GroupAssignment {
  readonly identity: string;
  readonly groupId: string;
  readonly policyType: string;
  readonly policyName: string;
  readonly rank: number;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const stripTag = (name: string) => name.replace(/^tag:/i, '');

/** The mirrored assignments of one policy type, best rank first. */
export function groupAssignmentsOf(config: VoiceConfig, policyType: string): GroupAssignment[] {
  return config
    .of(GROUP_POLICY_ASSIGNMENT)
    .map((object) => ({ object, key: groupAssignmentKey(object.identity) }))
    .filter(({ key }) => key !== undefined && same(key.policyType, policyType))
    .map(({ object, key }) => ({
      identity: object.identity,
      groupId: key?.groupId ?? '',
      policyType: key?.policyType ?? policyType,
      policyName: typeof object.data.PolicyName === 'string' ? stripTag(object.data.PolicyName) : '',
      rank: typeof object.data.Rank === 'number' ? object.data.Rank : 0,
    }))
    .sort((a, b) => a.rank - b.rank || (a.groupId < b.groupId ? -1 : 1));
}

const stateOf = (a: Pick<GroupAssignment, 'policyName' | 'rank'>): VoiceState => ({
  policyName: a.policyName,
  rank: a.rank,
});

/**
 * The changes that give the group's assignment of the type the policy and rank of `target` (null: remove it), the
 * group's own change first, then each other assignment of the type whose rank Teams moves, best new rank first. A
 * rank past the end is the end, as Teams makes it; no rank keeps the current one (the end for a new assignment).
 */
export function assignmentChanges(
  config: VoiceConfig,
  policyType: string,
  groupId: string,
  target: { readonly policyName: string; readonly rank?: number | undefined } | null,
): VoiceObjectChange[] {
  const all = groupAssignmentsOf(config, policyType);
  const current = all.find((a) => same(a.groupId, groupId));
  const others = all.filter((a) => a !== current);
  const order: Array<GroupAssignment | null> = [...others];
  if (target !== null) {
    const wanted = target.rank ?? current?.rank ?? Number.MAX_SAFE_INTEGER;
    order.splice(Math.min(Math.max(wanted, 1), others.length + 1) - 1, 0, null);
  }
  const identity = current?.identity ?? groupAssignmentIdentity(policyType, groupId);
  const own: VoiceObjectChange[] = [];
  const moved: VoiceObjectChange[] = [];
  order.forEach((assignment, i) => {
    const rank = i + 1;
    if (assignment === null) {
      const after = stateOf({ policyName: target?.policyName ?? '', rank });
      const before = current ? stateOf(current) : null;
      if (!before || before.policyName !== after.policyName || before.rank !== rank) {
        own.push({ kind: 'group-policy-assignments', identity, before, after });
      }
    } else if (assignment.rank !== rank) {
      moved.push({
        kind: 'group-policy-assignments',
        identity: assignment.identity,
        before: stateOf(assignment),
        after: stateOf({ ...assignment, rank }),
      });
    }
  });
  if (target === null && current) {
    own.push({ kind: 'group-policy-assignments', identity, before: stateOf(current), after: null });
  }
  return [...own, ...moved];
}

/** The groups a policy is assigned to (their ids), for the reference check before deleting the policy. */
export function groupsAssigned(config: VoiceConfig, policyType: string, policyName: string): string[] {
  return groupAssignmentsOf(config, policyType)
    .filter((a) => same(a.policyName, stripTag(policyName)))
    .map((a) => a.groupId);
}

/**
 * A group a policy can be granted to: known to the mirror (as of the last replication) and a security group — the
 * manual's "Apply Policy To Group" offers security groups (Teams also takes distribution lists and Microsoft 365
 * groups; docs/decisions.md says why the product does not).
 */
export function groupErrors(groupId: string, group: MirrorGroup | null): FieldError[] {
  if (!group) {
    return [
      {
        field: 'groupId',
        in: 'body',
        code: 'group_unknown',
        message: `The tenant has no group ${groupId} (as of the last replication).`,
      },
    ];
  }
  if (group.securityEnabled !== true) {
    return [
      {
        field: 'groupId',
        in: 'body',
        code: 'group_not_security',
        message: `"${group.displayName ?? groupId}" is not a security group; a policy is granted to security groups.`,
      },
    ];
  }
  return [];
}
