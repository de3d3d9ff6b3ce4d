import { domainErrors } from '../../shared/errors/domain-errors.js';
import type { MirrorStore } from '../../shared/replication/mirror-store.js';
import type { MirrorUser } from '../../shared/replication/mirror-user.js';
import { PermanentTaskError } from '../../shared/tasks/task-definition.js';
import type { UserChangeExecution } from '../../shared/users/ports.js';
import { USER_POLICY_TYPES, type UserChange } from '../../shared/users/user-change.js';

/**
 * The per-user engine as the bulk import sees it, on the mirror: `check` refuses numbers it is told are taken;
 * `applyToUser` is idempotent like the real one (a value already in place is neither sent nor recorded), writes the
 * mirror at once and records what it changed. It can refuse a user's row, or throw once before a given application
 * to play a host that died in the middle of a chunk.
 */
export interface FakeUserChanges extends UserChangeExecution {
  /** Set once the stack is up: the mirror the fake reads and writes. */
  mirror: Pick<MirrorStore, 'getUser' | 'putUsers'> | undefined;
  /** Numbers another user holds: `check` refuses them with number_in_use. */
  readonly takenNumbers: Set<string>;
  /** Customers with no M365 users to change (Hosted Essentials): `check` refuses every change. */
  readonly essentialsCustomers: Set<string>;
  /** Users whose application the tenant refuses, with its reason. */
  readonly refusedUsers: Map<string, string>;
  /** Throws once, as a dying host would, when this many changes have been applied in all; then clears itself. */
  crashAfter: number | undefined;
  /** Every change that changed something, in order: what the audit would show. */
  readonly applied: Array<{ readonly userId: string; readonly change: UserChange; readonly taskId: string }>;
  /** Every call of applyToUser, by user. */
  readonly calls: Map<string, number>;
}

function withChange(user: MirrorUser, change: UserChange): MirrorUser {
  switch (change.field) {
    case 'line-uri':
      return { ...user, lineUri: change.value };
    case 'enterprise-voice':
      return { ...user, enterpriseVoiceEnabled: change.value };
    case 'usage-location':
      return { ...user, usageLocation: change.value };
    case 'policy': {
      const type = USER_POLICY_TYPES[change.policyType].teamsType;
      return { ...user, policies: { ...user.policies, [type]: change.value ?? 'Global' } };
    }
  }
}

export function fakeUserChanges(): FakeUserChanges {
  const fake: FakeUserChanges = {
    mirror: undefined,
    takenNumbers: new Set(),
    essentialsCustomers: new Set(),
    refusedUsers: new Map(),
    crashAfter: undefined,
    applied: [],
    calls: new Map(),
    async check(customerId, _userId, changes) {
      if (fake.essentialsCustomers.has(customerId)) {
        throw domainErrors.conflict(
          'no_m365_for_essentials',
          'No M365 users',
          'A Hosted Essentials customer has none.',
        );
      }
      for (const change of changes) {
        if (change.field === 'line-uri' && change.value && fake.takenNumbers.has(change.value)) {
          throw domainErrors.conflict(
            'number_in_use',
            'Number in use',
            `${change.value} is assigned to another user.`,
          );
        }
      }
    },
    async applyToUser({ customerId, userId, changes, taskId }) {
      fake.calls.set(userId, (fake.calls.get(userId) ?? 0) + 1);
      const mirror = fake.mirror;
      if (!mirror) throw new Error('The fake has no mirror yet.');
      const refusal = fake.refusedUsers.get(userId);
      if (refusal) throw new PermanentTaskError(refusal);
      let user = await mirror.getUser(customerId, userId);
      if (!user) throw new PermanentTaskError(`No user ${userId}.`);
      for (const change of changes) {
        const next = withChange(user, change);
        if (JSON.stringify(next) === JSON.stringify(user)) continue;
        if (fake.crashAfter !== undefined && fake.applied.length >= fake.crashAfter) {
          fake.crashAfter = undefined;
          throw new Error('The host died.');
        }
        user = next;
        await mirror.putUsers(customerId, [user], 'fake');
        fake.applied.push({ userId, change, taskId });
      }
    },
  };
  return fake;
}
