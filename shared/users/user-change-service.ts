import { domainErrors } from '../errors/domain-errors.js';
import type { LicenseGate } from '../licenses/license-gate.js';
import { type MirrorStore, userHash } from '../replication/mirror-store.js';
import type { MirrorUser } from '../replication/mirror-user.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import { isFinal, type TaskRecord, type TaskState } from '../tasks/task-record.js';
import type { UserChangeExecution } from './ports.js';
import type { UserChange, UserChangeApplier } from './user-change.js';
import { changeTo, fieldKeyOf, mergeChanges, mirrorValueOf, sameValue } from './user-change-fields.js';
import type { UserAuditEntry, UserChangeStore } from './user-change-store.js';
import { USER_CHANGE_TASK, userChangeTaskInput, type UserChangeTaskInput } from './user-change-task.js';

/**
 * How long a user's queued changes wait for more before they run: changes within it join one task (the manual's
 * "If after five minutes, no new updates are executed on this tenant, these actions are queued", per user here,
 * and shorter, because one admin edits one user at a time). Process All runs them at once.
 */
export const DEFAULT_DEBOUNCE_MS = 30_000;

/** A user's ETag: the mirror row's content hash; it moves when replication or an applied change moves the row. */
export function userEtag(user: MirrorUser): string {
  return `"${userHash(user)}"`;
}

/** One queued change of a user, as Pending changes lists it. */
export interface PendingChange {
  readonly taskId: string;
  readonly cmdType: string;
  readonly state: TaskState;
  readonly change: UserChange;
  readonly queuedChange: string;
  readonly createdAt: string;
  readonly nextExecutionAt: string | null;
}

export interface QueueOptions {
  readonly initiatedBy: string;
  /** The caller's If-Match, as sent (a quoted hash; a `W/` prefix and `*` accepted). */
  readonly ifMatch?: string;
  readonly rollbackOf?: string;
}

export interface UserChangeServiceDeps {
  readonly engine: Pick<TaskEngine, 'start' | 'amend' | 'get'>;
  readonly execution: UserChangeExecution;
  readonly store: UserChangeStore;
  readonly mirror: Pick<MirrorStore, 'getUser'>;
  readonly applier: Pick<UserChangeApplier, 'render'>;
  /**
   * Marks the user pending in the Users list, and as changed by an operator (the license factor By User
   * Interface), when the mirror offers it.
   */
  readonly markQueued?: (customerId: string, userId: string) => Promise<unknown>;
  /** Refuses a change of a user who would take a license when none is left; none: no license check. */
  readonly licenseGate?: Pick<LicenseGate, 'assertAdmitted'>;
  readonly debounceMs?: number;
}

export function createUserChangeService(deps: UserChangeServiceDeps) {
  const debounceMs = deps.debounceMs ?? DEFAULT_DEBOUNCE_MS;

  async function userOrThrow(customerId: string, userId: string): Promise<MirrorUser> {
    const user = await deps.mirror.getUser(customerId, userId);
    if (!user) throw domainErrors.notFound(`${customerId} has no replicated user ${userId}.`);
    return user;
  }

  function inputOf(user: MirrorUser, changes: UserChange[], initiatedBy: string, rollbackOf: string | null) {
    const target = { customerId: '', userId: user.id, userPrincipalName: user.userPrincipalName };
    return userChangeTaskInput.parse({
      userId: user.id,
      userPrincipalName: user.userPrincipalName,
      changes,
      initiatedBy,
      rollbackOf,
      queuedChanges: changes.map((change) => deps.applier.render(target, change)),
    });
  }

  /** The user's change task that has not started yet, joined by these changes; null when there is none. */
  async function join(
    customerId: string,
    user: MirrorUser,
    changes: readonly UserChange[],
    initiatedBy: string,
  ): Promise<TaskRecord | null> {
    for (const taskId of (await deps.store.pendingTasks(customerId, user.id)).reverse()) {
      const amended = await deps.engine.amend(taskId, (stored) => {
        const earlier = stored as UserChangeTaskInput;
        // A rollback stays its own task: its audit entry names what it rolls back.
        if (earlier.rollbackOf !== null) return stored;
        const names = new Set([...earlier.initiatedBy.split(', '), initiatedBy]);
        const merged = mergeChanges(earlier.changes, changes);
        return inputOf(user, merged, [...names].join(', '), null);
      });
      if (amended && (amended.input as UserChangeTaskInput).rollbackOf === null) return amended;
    }
    return null;
  }

  /**
   * Checks the changes, then queues them: joined to the user's change task that has not started yet (later values
   * winning per field), or as a new one that waits the debounce window. Nothing is queued when a check fails.
   */
  async function queue(
    customerId: string,
    userId: string,
    requested: readonly UserChange[],
    options: QueueOptions,
  ): Promise<TaskRecord> {
    const changes = mergeChanges([], requested);
    // The checks first: a Hosted Essentials customer has no users to find, and is told so.
    await deps.execution.check(customerId, userId, changes);
    const user = await userOrThrow(customerId, userId);
    if (options.ifMatch !== undefined && options.ifMatch !== '*') {
      const sent = options.ifMatch.replace(/^W\//, '');
      if (sent !== userEtag(user)) {
        throw domainErrors.versionMismatch(
          `${user.userPrincipalName} changed since you read it (in Teams, or by another change); reload it and try again.`,
        );
      }
    }
    await deps.licenseGate?.assertAdmitted(customerId, user.id);
    const rollbackOf = options.rollbackOf ?? null;
    const joined = rollbackOf === null ? await join(customerId, user, changes, options.initiatedBy) : null;
    const task =
      joined ??
      (await deps.engine.start({
        type: USER_CHANGE_TASK,
        customerId,
        input: inputOf(user, changes, options.initiatedBy, rollbackOf),
        delayMs: rollbackOf === null ? debounceMs : 0,
      }));
    if (!joined) await deps.store.updatePendingTasks(customerId, userId, (ids) => [...ids, task.id]);
    const number = (task.input as UserChangeTaskInput).changes.find((c) => c.field === 'line-uri')?.value;
    if (typeof number === 'string') {
      await deps.store.claimNumber(customerId, {
        userId: user.id,
        userPrincipalName: user.userPrincipalName,
        displayName: user.displayName,
        lineUri: number,
        taskId: task.id,
      });
    }
    await deps.markQueued?.(customerId, userId);
    return task;
  }

  return {
    userEtag,

    queue,

    /** The user's queued changes not yet applied, in applying order (the Edit dialog's Pending changes tab). */
    async pendingChanges(customerId: string, userId: string): Promise<PendingChange[]> {
      await userOrThrow(customerId, userId);
      const pending: PendingChange[] = [];
      for (const taskId of await deps.store.pendingTasks(customerId, userId)) {
        const task = await deps.engine.get(taskId);
        if (!task || isFinal(task.state) || task.type !== USER_CHANGE_TASK) continue;
        const input = task.input as UserChangeTaskInput;
        const applied = new Set(
          (await deps.store.auditEntry(customerId, `${task.id}.${userId}`))?.fields
            .filter((f) => f.state === 'applied')
            .map((f) => f.field) ?? [],
        );
        input.changes.forEach((change, i) => {
          if (applied.has(fieldKeyOf(change))) return;
          pending.push({
            taskId: task.id,
            cmdType: task.type,
            state: task.state,
            change,
            queuedChange: input.queuedChanges[i] ?? '',
            createdAt: task.createdAt,
            nextExecutionAt: task.nextExecutionAt,
          });
        });
      }
      return pending;
    },

    auditEntry: (customerId: string, entryId: string) => deps.store.auditEntry(customerId, entryId),
    customerAudit: (customerId: string, top: number, after?: string) =>
      deps.store.customerAudit(customerId, top, after),
    userAudit: (customerId: string, userId: string, top: number, after?: string) =>
      deps.store.userAudit(customerId, userId, top, after),

    /**
     * Queues the inverse of the entry's selected fields (their old values), as its own task. Refused for a field
     * that was not applied, or that has moved since (the mirror no longer shows the entry's new value).
     */
    async rollback(
      customerId: string,
      entryId: string,
      fields: readonly string[],
      initiatedBy: string,
    ): Promise<{ task: TaskRecord; entry: UserAuditEntry }> {
      const entry = await deps.store.auditEntry(customerId, entryId);
      if (!entry) throw domainErrors.notFound(`${customerId} has no user-change audit entry ${entryId}.`);
      const user = await userOrThrow(customerId, entry.userId);
      const inverse: UserChange[] = [];
      for (const name of new Set(fields)) {
        const field = entry.fields.find((f) => f.field === name);
        if (!field) {
          throw domainErrors.conflict(
            'audit_field_unknown',
            'No such field in the entry',
            `Entry ${entryId} changed ${entry.fields.map((f) => f.field).join(', ')}, not ${name}.`,
          );
        }
        if (field.state !== 'applied') {
          throw domainErrors.conflict(
            'audit_field_not_applied',
            'Nothing to roll back',
            `${field.fieldName} of ${entry.userPrincipalName} was not changed by entry ${entryId} (it ${field.state === 'failed' ? 'failed' : 'has not been applied'}).`,
          );
        }
        const current = mirrorValueOf(user, field.change);
        if (!sameValue(current, field.newValue)) {
          throw domainErrors.conflict(
            'audit_field_moved',
            'The field has changed since',
            `${field.fieldName} of ${entry.userPrincipalName} is now ${String(current)}, not ${String(field.newValue)} as entry ${entryId} left it; rolling it back would overwrite a later change.`,
          );
        }
        inverse.push(changeTo(field.change, field.oldValue));
      }
      const task = await queue(customerId, entry.userId, inverse, { initiatedBy, rollbackOf: entryId });
      return { task, entry };
    },
  };
}

export type UserChangeService = ReturnType<typeof createUserChangeService>;
