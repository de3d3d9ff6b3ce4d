import type { CustomerService } from '../customers/customer-service.js';
import { DomainError, domainErrors, type FieldError } from '../errors/domain-errors.js';
import { dayTwoWriter, type MirrorStore } from '../replication/mirror-store.js';
import { groupedMirrorWrites } from './grouped-mirror-writes.js';
import { PermanentTaskError } from '../tasks/task-definition.js';
import { isUsageLocation, LINE_URI_RULE, normalizeLineUri } from './line-uri.js';
import type { NumberGuard, UserChangeExecution } from './ports.js';
import { customerWithUsers } from './user-access.js';
import { USER_POLICY_TYPES, type UserChange, type UserChangeApplier } from './user-change.js';
import { fieldKeyOf, fieldNameOf, mergeChanges, mirrorValueOf, withChange } from './user-change-fields.js';
import {
  auditEntryId,
  type UserAuditField,
  type UserChangeStore,
  type UserHolds,
} from './user-change-store.js';

/** The policy types whose objects replication mirrors (m365-reader's VOICE_POLICY_NAMES): their names are checked. */
const MIRRORED_POLICY_TYPES = new Set([
  'OnlineVoiceRoutingPolicy',
  'TenantDialPlan',
  'TeamsCallingPolicy',
  'TeamsEmergencyCallingPolicy',
  'TeamsEmergencyCallRoutingPolicy',
]);

/**
 * How long a just-applied value is kept over what a replication cycle reads from Teams: real policy grants and
 * number assignments take tens of seconds to show in Teams' reads, and a cycle that read before the change landed
 * may write after it.
 */
export const DEFAULT_HOLD_MS = 15 * 60_000;

export interface UserChangeExecutionDeps {
  readonly mirror: Pick<MirrorStore, 'getUser' | 'updateUsers' | 'voiceObjects'>;
  readonly store: UserChangeStore;
  readonly applier: UserChangeApplier;
  readonly numbers: NumberGuard;
  readonly customers: Pick<CustomerService, 'get'>;
  readonly holdMs?: number;
  readonly now?: () => Date;
}

export function createUserChangeExecution(deps: UserChangeExecutionDeps): UserChangeExecution {
  const now = deps.now ?? (() => new Date());
  const holdMs = deps.holdMs ?? DEFAULT_HOLD_MS;
  const writeMirror = groupedMirrorWrites(deps.mirror);

  async function policyExists(customerId: string, teamsType: string, name: string): Promise<boolean> {
    const wanted = [`tag:${name}`.toLowerCase(), name.toLowerCase()];
    return (await deps.mirror.voiceObjects(customerId)).some(
      (o) => o.policyName === teamsType && wanted.includes(o.identity.toLowerCase()),
    );
  }

  async function check(customerId: string, userId: string, changes: readonly UserChange[]): Promise<void> {
    await customerWithUsers(deps.customers, customerId);
    const user = await deps.mirror.getUser(customerId, userId);
    if (!user) throw domainErrors.notFound(`${customerId} has no replicated user ${userId}.`);
    if (changes.length === 0) {
      throw domainErrors.validation([
        { field: '', in: 'body', code: 'no_change', message: 'Name at least one change.' },
      ]);
    }
    const invalid: FieldError[] = [];
    for (const [i, change] of changes.entries()) {
      const field = `changes.${i}.value`;
      if (
        change.field === 'line-uri' &&
        change.value !== null &&
        normalizeLineUri(change.value) !== change.value
      ) {
        invalid.push({
          field,
          in: 'body',
          code: 'line_uri_invalid',
          message: `${change.value}: ${LINE_URI_RULE}.`,
        });
      }
      if (change.field === 'usage-location' && change.value !== null && !isUsageLocation(change.value)) {
        invalid.push({
          field,
          in: 'body',
          code: 'usage_location_invalid',
          message: `${change.value} is not an ISO 3166-1 alpha-2 country code (e.g. GB, IT, US).`,
        });
      }
    }
    if (invalid.length > 0) throw domainErrors.validation(invalid);
    for (const change of changes) {
      if (change.field === 'line-uri' && change.value !== null && change.value !== user.lineUri) {
        await deps.numbers.assertAssignable(customerId, userId, change.value);
      }
      if (change.field === 'policy' && change.value !== null) {
        const { teamsType, label } = USER_POLICY_TYPES[change.policyType];
        if (
          MIRRORED_POLICY_TYPES.has(teamsType) &&
          !(await policyExists(customerId, teamsType, change.value))
        ) {
          throw domainErrors.conflict(
            'user_policy_unknown',
            'No such policy',
            `${customerId} has no ${label} named "${change.value}" (as of the last replication).`,
          );
        }
      }
    }
  }

  async function hold(customerId: string, userId: string, changes: readonly UserChange[]): Promise<void> {
    const at = now().getTime();
    const current = await deps.store.holds(customerId, userId);
    const kept: Record<string, UserHolds[string]> = {};
    for (const [key, value] of Object.entries(current)) if (Date.parse(value.until) > at) kept[key] = value;
    for (const change of changes) {
      kept[fieldKeyOf(change)] = { change, until: new Date(at + holdMs).toISOString() };
    }
    await deps.store.putHolds(customerId, userId, kept);
  }

  async function applyToUser(input: Parameters<UserChangeExecution['applyToUser']>[0]): Promise<void> {
    const { customerId, userId, taskId } = input;
    const changes = mergeChanges([], input.changes);
    let entry = await deps.store.auditEntry(customerId, auditEntryId(taskId, userId));
    const user = await deps.mirror.getUser(customerId, userId);
    if (!entry) {
      if (!user) throw new PermanentTaskError(`${customerId} has no replicated user ${userId} any more.`);
      // The old values are read once, before the first change: a retry after some were applied keeps them.
      entry = {
        id: auditEntryId(taskId, userId),
        customerId,
        userId,
        userPrincipalName: user.userPrincipalName,
        initiatedBy: input.initiatedBy,
        taskId,
        status: 'executing',
        createdAt: now().toISOString(),
        completedAt: null,
        error: null,
        rollbackOf: input.rollbackOf ?? null,
        fields: changes.map((change): UserAuditField => ({
          field: fieldKeyOf(change),
          fieldName: fieldNameOf(change),
          oldValue: mirrorValueOf(user, change),
          newValue: change.value,
          change,
          state: 'pending',
        })),
      };
      await deps.store.putAuditEntry(entry);
    }
    if (entry.status === 'processed') return;
    if (entry.status === 'failed') {
      // The operator re-ran the failed task: the fields not applied are tried again, the applied ones stay done.
      entry = {
        ...entry,
        status: 'executing',
        error: null,
        completedAt: null,
        fields: entry.fields.map((f) => (f.state === 'failed' ? { ...f, state: 'pending' } : f)),
      };
      await deps.store.putAuditEntry(entry);
    }
    const target = { customerId, userId, userPrincipalName: entry.userPrincipalName };
    let fields = [...entry.fields];
    // Applied by this run, or by an earlier one that may have stopped before the mirror showed them (shown again:
    // idempotent).
    const applied = fields.filter((f) => f.state === 'applied').map((f) => f.change);
    for (const [index, field] of fields.entries()) {
      if (field.state === 'applied') continue;
      try {
        await deps.applier.apply(target, field.change);
      } catch (error) {
        const permanent =
          error instanceof PermanentTaskError ||
          (error instanceof DomainError && error.kind !== 'transient' && error.kind !== 'version_mismatch');
        if (permanent) {
          fields[index] = { ...field, state: 'failed' };
          entry = {
            ...entry,
            fields,
            status: 'failed',
            error: error.message,
            completedAt: now().toISOString(),
          };
          await deps.store.putAuditEntry(entry);
        }
        await shown(customerId, userId, taskId, applied, permanent);
        throw error;
      }
      // Recorded before the mirror is touched: a crash after this line never sends the change again.
      fields = fields.map((f, i) => (i === index ? { ...f, state: 'applied' } : f));
      entry = { ...entry, fields };
      await deps.store.putAuditEntry(entry);
      applied.push(field.change);
    }
    // The user's pending task is settled before the entry says processed: a crash in between shows it again.
    await shown(customerId, userId, taskId, applied, true);
    entry = { ...entry, status: 'processed', completedAt: now().toISOString() };
    await deps.store.putAuditEntry(entry);
  }

  /**
   * Applied changes held over replication's reads and written to the mirror at once, with the user's Pending changes
   * flag when the task is `settled` (no longer the user's pending change; the user is still pending while another
   * one is). One write for every change of the user, grouped with other users' (an import's rows).
   */
  async function shown(
    customerId: string,
    userId: string,
    taskId: string,
    changes: readonly UserChange[],
    settled: boolean,
  ): Promise<void> {
    if (changes.length > 0) await hold(customerId, userId, changes);
    let pending: boolean | undefined;
    if (settled) {
      const left = await deps.store.updatePendingTasks(customerId, userId, (ids) =>
        ids.filter((id) => id !== taskId),
      );
      pending = left.length > 0;
    }
    if (changes.length === 0 && pending === undefined) return;
    await writeMirror(customerId, dayTwoWriter(taskId), {
      id: userId,
      change: (user) => changes.reduce((u, c) => withChange(u, c), user),
      ...(pending === undefined ? {} : { pending }),
    });
  }

  return { check, applyToUser };
}
