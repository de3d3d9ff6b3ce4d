import { createHash } from 'node:crypto';
import type { Binding } from './lifecycle-binding.js';
import type { LifecycleState, RetiredBinding, UserState } from './lifecycle-store.js';
import type { UserTemplate } from './user-template.js';
import { followsDirectory } from './user-template-service.js';

/**
 * The lifecycle pass's arithmetic (manual-part-D §3.5), plain data in and out: each user's winning binding from
 * the groups' members, and what differs from what the earlier passes gave them. Reading and queuing are the
 * service's (lifecycle-service.ts).
 */

export interface Winner {
  readonly bindingId: string;
  readonly templateId: number;
}

/**
 * Each member's binding: the bindings in rank order, a user matching one when a member of all its groups; the
 * first match wins ("the template assigned to the group with the lowest rank … will prevail over the others").
 */
export function winners(
  bindings: readonly Binding[],
  members: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, Winner> {
  const won = new Map<string, Winner>();
  for (const binding of bindings) {
    const sets = binding.groupIds.map((id) => members.get(id) ?? new Set<string>());
    sets.sort((a, b) => a.size - b.size);
    const [smallest, ...others] = sets;
    for (const userId of smallest ?? []) {
      if (won.has(userId) || !others.every((set) => set.has(userId))) continue;
      won.set(userId, { bindingId: binding.id, templateId: binding.templateId });
    }
  }
  return won;
}

/**
 * What the template enforces on every pass, as a digest: Enterprise Voice and the policies, and the number when it
 * follows a directory attribute (so that a changed Phone is a change). A template edited since is a change too.
 */
export function enforcedKey(template: UserTemplate, directoryNumber: string | null): string {
  const enforced = {
    ev: template.enterpriseVoice,
    policies: template.policies,
    number: followsDirectory(template) ? directoryNumber : null,
  };
  return createHash('sha1').update(JSON.stringify(enforced)).digest('base64url').slice(0, 12);
}

export type PlannedKind = 'join' | 'change' | 'leave';

export interface PlannedUser {
  readonly userId: string;
  readonly kind: PlannedKind;
  readonly bindingId: string;
  readonly templateId: number;
  /** The enforced digest the user has once this is applied (join, change). */
  readonly key: string | null;
  /** What a leaver's binding says to do. */
  readonly onLeave: 'keep' | 'remove';
  readonly quarantineDays: number;
}

export interface PassDiff {
  /** Users to queue something for, and users whose state changes without anything to queue. */
  readonly planned: PlannedUser[];
  /** Leavers whose binding says `keep`, and users no longer mirrored: dropped from the state, nothing queued. */
  readonly dropped: string[];
}

/**
 * Compares the winners with the state: a user without a provisioned state joins; one whose binding, template or
 * enforced digest differs changes; a provisioned user without a winner leaves, as their binding says (a deleted
 * binding's `retired` entry keeps its say). A user the last pass refused is a joiner again.
 */
export function diff(input: {
  readonly won: ReadonlyMap<string, Winner>;
  readonly state: LifecycleState;
  readonly bindings: readonly Binding[];
  readonly retired: readonly RetiredBinding[];
  readonly keyOf: (userId: string, templateId: number) => string | null;
}): PassDiff {
  const planned: PlannedUser[] = [];
  const dropped: string[] = [];
  const leaveOf = new Map<string, { onLeave: 'keep' | 'remove'; quarantineDays: number }>();
  for (const b of [...input.retired, ...input.bindings]) leaveOf.set(b.id, b);
  for (const [userId, winner] of input.won) {
    const key = input.keyOf(userId, winner.templateId);
    if (key === null) continue;
    const current: UserState | undefined = input.state.get(userId);
    const base = { userId, bindingId: winner.bindingId, templateId: winner.templateId, key };
    const leave = leaveOf.get(winner.bindingId) ?? { onLeave: 'keep' as const, quarantineDays: 0 };
    if (current?.k === undefined) planned.push({ ...base, kind: 'join', ...leave });
    else if (current.b !== winner.bindingId || current.t !== winner.templateId || current.k !== key) {
      planned.push({ ...base, kind: 'change', ...leave });
    }
  }
  for (const [userId, current] of input.state) {
    if (input.won.has(userId)) continue;
    const leave = leaveOf.get(current.b);
    if (current.k === undefined || !leave || leave.onLeave === 'keep') {
      dropped.push(userId);
      continue;
    }
    planned.push({
      userId,
      kind: 'leave',
      bindingId: current.b,
      templateId: current.t,
      key: null,
      onLeave: leave.onLeave,
      quarantineDays: leave.quarantineDays,
    });
  }
  return { planned, dropped };
}
