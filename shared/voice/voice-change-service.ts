import type { CustomerService } from '../customers/customer-service.js';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import { classifyPeerError } from '../onboarding/tasks/peer-task-errors.js';
import { dayTwoWriter, type MirrorCursor, type MirrorStore } from '../replication/mirror-store.js';
import { PermanentTaskError } from '../tasks/task-definition.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TaskRecord } from '../tasks/task-record.js';
import { renderPowerShell } from '../teams/powershell.js';
import type { TeamsAdminClient } from '../teams/teams-admin-client.js';
import { executeTeamsCommand } from '../teams/teams-commands-rest.js';
import { customerWithUsers } from '../users/user-access.js';
import {
  actionOf,
  commandsOf,
  fieldChanges,
  GLOBAL_USAGES,
  inverseOf,
  sameState,
  teamsIdentity,
  VOICE_KIND_SPECS,
  type VoiceAction,
  type VoiceChangeExecution,
  VoiceConfig,
  voiceEtag,
  type VoiceFieldChange,
  type VoiceKind,
  type VoiceObjectChange,
  type VoiceState,
} from './voice-change.js';
import { assertValid, inUse, referencesTo } from './voice-change-rules.js';
import { groupsAssigned } from './group-policy-assignments.js';
import type { VoiceAuditEntry, VoiceChangeStore } from './voice-change-store.js';
import { adoptedObjects, desiredDrift, restoreChanges, type VoiceObjectDrift } from './voice-desired.js';
import { VOICE_CHANGE_TASK, voiceChangeTaskInput } from './voice-change-task.js';

/** What a voice change would do: per object its action and old → new per property, then the commands. */
export interface VoicePlan {
  readonly objects: ReadonlyArray<{
    readonly kind: VoiceKind;
    readonly identity: string;
    readonly action: VoiceAction;
    readonly fields: readonly VoiceFieldChange[];
  }>;
  /** The PowerShell of each Teams command, in order. */
  readonly commands: readonly string[];
}

export interface VoiceChangeServiceDeps {
  readonly mirror: Pick<MirrorStore, 'voiceObjects' | 'putVoiceObjects' | 'listUsers' | 'getGroup'>;
  readonly customers: Pick<CustomerService, 'get'>;
  readonly engine: Pick<TaskEngine, 'start'>;
  readonly store: VoiceChangeStore;
  /** The Teams admin API of the customer's tenant (`OnboardingPorts.teams`). */
  teams(customerId: string): Promise<TeamsAdminClient>;
  readonly now?: () => Date;
}

/** The user policy type that grants each kind (the mirror users' `policies` key), where users can be granted it. */
const GRANTED_AS: Partial<Record<VoiceKind, string>> = {
  'voice-routing-policies': 'OnlineVoiceRoutingPolicy',
  'dial-plans': 'TenantDialPlan',
  'emergency-calling-policies': 'TeamsEmergencyCallingPolicy',
  'emergency-call-routing-policies': 'TeamsEmergencyCallRoutingPolicy',
};
const NAMED_USERS = 5;

export function createVoiceChangeService(deps: VoiceChangeServiceDeps) {
  const now = deps.now ?? (() => new Date());

  async function config(customerId: string): Promise<VoiceConfig> {
    // Online Voice Routing is a menu of Hosted Essentials + and Hosted Pro only (manual-part-D, License Model Menus).
    await customerWithUsers(deps.customers, customerId);
    return new VoiceConfig(await deps.mirror.voiceObjects(customerId));
  }

  /** The users granted the object (first few by sign-in name, and how many), from the mirror. */
  async function grantedTo(customerId: string, change: VoiceObjectChange): Promise<string[]> {
    const type = GRANTED_AS[change.kind];
    if (!type) return [];
    const names: string[] = [];
    let count = 0;
    let cursor: MirrorCursor | undefined;
    do {
      const page = await deps.mirror.listUsers(customerId, 500, cursor);
      for (const user of page.items) {
        const granted = user.policies[type]?.replace(/^tag:/i, '');
        if (granted?.toLowerCase() !== change.identity.toLowerCase()) continue;
        count++;
        if (names.length < NAMED_USERS) names.push(user.userPrincipalName);
      }
      cursor = page.next ?? undefined;
    } while (cursor);
    if (count === 0) return [];
    const more = count > names.length ? ` and ${count - names.length} more` : '';
    return [`${count === 1 ? 'user' : 'users'} ${names.join(', ')}${more}`];
  }

  /** The groups granted the object (group policy assignments), by their mirrored names. */
  async function groupsGranted(
    customerId: string,
    cfg: VoiceConfig,
    change: VoiceObjectChange,
  ): Promise<string[]> {
    const type = GRANTED_AS[change.kind];
    if (!type) return [];
    const names = await Promise.all(
      groupsAssigned(cfg, type, change.identity).map(async (groupId) => {
        const group = await deps.mirror.getGroup(customerId, groupId);
        return group?.displayName ? `group "${group.displayName}" (${groupId})` : `group ${groupId}`;
      }),
    );
    return names;
  }

  /** Everything Teams would refuse, checked on the mirror before anything is queued. */
  async function check(customerId: string, cfg: VoiceConfig, changes: readonly VoiceObjectChange[]) {
    for (const change of changes) {
      if (change.after !== null) continue;
      if (change.kind !== 'voice-routes' && change.identity.toLowerCase() === 'global') {
        throw domainErrors.conflict(
          'voice_object_in_use',
          'Still in use',
          `The Global ${VOICE_KIND_SPECS[change.kind].label} is the tenant-wide default; it cannot be removed.`,
        );
      }
      const references = [
        ...referencesTo(cfg, change),
        ...(await grantedTo(customerId, change)),
        ...(await groupsGranted(customerId, cfg, change)),
      ];
      if (references.length > 0) throw inUse(change, references);
    }
    assertValid(cfg, changes);
  }

  function planOf(changes: readonly VoiceObjectChange[]): VoicePlan {
    return {
      objects: changes.map((change) => ({
        kind: change.kind,
        identity: change.identity,
        action: actionOf(change),
        fields: fieldChanges(change),
      })),
      commands: changes.flatMap(commandsOf).map(renderPowerShell),
    };
  }

  async function start(
    customerId: string,
    changes: readonly VoiceObjectChange[],
    initiatedBy: string,
    rollbackOf: string | null,
  ): Promise<TaskRecord> {
    const plan = planOf(changes);
    return deps.engine.start({
      type: VOICE_CHANGE_TASK,
      customerId,
      input: voiceChangeTaskInput.parse({ changes, initiatedBy, rollbackOf, queuedChanges: plan.commands }),
    });
  }

  /** Writes what Teams now has for the changed objects to the mirror, so lists show it before the next cycle. */
  async function mirrorAfter(
    customerId: string,
    taskId: string,
    client: TeamsAdminClient,
    changes: readonly VoiceObjectChange[],
  ): Promise<void> {
    const put: Parameters<MirrorStore['putVoiceObjects']>[1][number][] = [];
    const remove: Array<{ policyName: string; identity: string }> = [];
    const done = new Set<string>();
    for (const change of changes) {
      const { policyName } = VOICE_KIND_SPECS[change.kind];
      const identity =
        change.kind === 'pstn-usages' ? GLOBAL_USAGES : teamsIdentity(change.kind, change.identity);
      const key = `${policyName}~${identity.toLowerCase()}`;
      if (done.has(key)) continue;
      done.add(key);
      const data = await client.get(policyName, identity);
      if (data) put.push({ policyName, identity: data.Identity, data });
      else remove.push({ policyName, identity });
    }
    await deps.mirror.putVoiceObjects(customerId, put, remove, dayTwoWriter(taskId));
  }

  const execution: VoiceChangeExecution = {
    async apply({ customerId, taskId, changes, initiatedBy, rollbackOf }) {
      const stored = await deps.store.entry(customerId, taskId);
      if (stored?.status === 'processed') return;
      const entry: VoiceAuditEntry = {
        id: taskId,
        customerId,
        initiatedBy,
        taskId,
        status: 'executing',
        createdAt: stored?.createdAt ?? now().toISOString(),
        completedAt: null,
        error: null,
        rollbackOf,
        changes,
      };
      await deps.store.put(entry);
      const client = await deps.teams(customerId);
      try {
        for (const command of changes.flatMap(commandsOf)) await executeTeamsCommand(client, command);
      } catch (error) {
        const classified = classifyPeerError(error);
        if (classified instanceof PermanentTaskError || classified === undefined) {
          await deps.store.put({
            ...entry,
            status: 'failed',
            error: error instanceof Error ? error.message : String(error),
            completedAt: now().toISOString(),
          });
        }
        // Whatever was applied before the failure shows at once too.
        await mirrorAfter(customerId, taskId, client, changes);
        throw error;
      }
      await mirrorAfter(customerId, taskId, client, changes);
      // Before the entry is processed: a crash in between applies again (idempotent) and sets the same.
      await deps.store.putDesired(
        customerId,
        changes.map((change) => ({
          kind: change.kind,
          identity: change.identity,
          state: change.after,
          setBy: initiatedBy,
          setAt: now().toISOString(),
          entryId: taskId,
        })),
      );
      await deps.store.put({ ...entry, status: 'processed', completedAt: now().toISOString() });
    },
  };

  /** The drift of the objects named (every drifted one when none are), refusing a name that is not drifted. */
  async function driftedOf(
    customerId: string,
    objects: ReadonlyArray<{ readonly kind: VoiceKind; readonly identity: string }> | undefined,
  ) {
    const desired = await deps.store.desired(customerId);
    const cfg = await config(customerId);
    const drift = desiredDrift(cfg, desired);
    if (objects === undefined) return { cfg, desired, drift };
    const errors = objects.flatMap((o, i) =>
      drift.some((d) => d.kind === o.kind && d.identity.toLowerCase() === o.identity.toLowerCase())
        ? []
        : [
            {
              field: `objects.${i}`,
              in: 'body' as const,
              code: 'not_drifted',
              message: `The ${VOICE_KIND_SPECS[o.kind].label} "${o.identity}" ${
                desired.some(
                  (d) => d.kind === o.kind && d.identity.toLowerCase() === o.identity.toLowerCase(),
                )
                  ? 'is as the product last set it'
                  : 'was not changed by the product: it has no desired state'
              }; there is nothing to reconcile.`,
            },
          ],
    );
    if (errors.length > 0) throw domainErrors.validation(errors);
    const chosen = drift.filter((d) =>
      objects.some((o) => d.kind === o.kind && d.identity.toLowerCase() === o.identity.toLowerCase()),
    );
    return { cfg, desired, drift: chosen };
  }

  /** Each restoring change checked on its own against the others applied, so a refusal names its object. */
  async function checkRestore(customerId: string, cfg: VoiceConfig, changes: readonly VoiceObjectChange[]) {
    const blocked: string[] = [];
    for (const change of changes) {
      try {
        await check(customerId, cfg.with(changes.filter((other) => other !== change)), [change]);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        const why = error.fields.length > 0 ? error.fields.map((f) => f.message).join(' ') : error.detail;
        blocked.push(`${VOICE_KIND_SPECS[change.kind].label} "${change.identity}": ${why ?? error.title}`);
      }
    }
    if (blocked.length > 0) {
      throw domainErrors.conflict(
        'voice_reconcile_blocked',
        'Cannot be restored',
        `Teams would refuse to restore ${blocked.join('; ')} Restore the others by naming them in objects, or adopt what Teams has.`,
      );
    }
  }

  return {
    execution,

    config,

    /**
     * The objects the product changed that Teams no longer matches (the mirror: the last cycle and the changes
     * applied since), and how many objects the product holds a desired state for. A customer the product never
     * changed has none, and is not read further.
     */
    /** Every object the product holds a desired state for. */
    desired: (customerId: string) => deps.store.desired(customerId),

    async desiredDrift(customerId: string): Promise<{ objects: VoiceObjectDrift[]; count: number }> {
      const desired = await deps.store.desired(customerId);
      if (desired.length === 0) return { objects: [], count: 0 };
      const cfg = new VoiceConfig(await deps.mirror.voiceObjects(customerId));
      return { objects: desiredDrift(cfg, desired), count: desired.length };
    },

    /**
     * `restore`: queues the changes that bring the drifted objects (those named, or all) back to their desired
     * state, as one task with its audit entry — checked first like any change, refused whole when Teams would refuse
     * one. `adopt`: takes what Teams has as the new desired state; nothing is sent to Teams.
     */
    async reconcile(
      customerId: string,
      options: {
        readonly action: 'restore' | 'adopt';
        readonly objects?: ReadonlyArray<{ readonly kind: VoiceKind; readonly identity: string }>;
        readonly dryRun: boolean;
        readonly initiatedBy: string;
      },
    ): Promise<{ plan: VoicePlan; task: TaskRecord | null; drift: VoiceObjectDrift[] }> {
      const { cfg, desired, drift } = await driftedOf(customerId, options.objects);
      if (options.action === 'adopt') {
        const adopted = adoptedObjects(cfg, drift, {
          setBy: options.initiatedBy,
          setAt: now().toISOString(),
        });
        const plan: VoicePlan = {
          objects: adopted.map((object) => {
            const before = desired.find(
              (d) => d.kind === object.kind && d.identity.toLowerCase() === object.identity.toLowerCase(),
            );
            const change = {
              kind: object.kind,
              identity: object.identity,
              before: before?.state ?? null,
              after: object.state,
            };
            return {
              kind: object.kind,
              identity: object.identity,
              action: actionOf(change),
              fields: fieldChanges(change),
            };
          }),
          commands: [],
        };
        if (!options.dryRun) await deps.store.putDesired(customerId, adopted);
        return { plan, task: null, drift };
      }
      const changes = restoreChanges(cfg, drift, desired);
      await checkRestore(customerId, cfg, changes);
      const plan = planOf(changes);
      if (options.dryRun || plan.commands.length === 0) return { plan, task: null, drift };
      return { plan, task: await start(customerId, changes, options.initiatedBy, null), drift };
    },

    /**
     * The change to one object: its state now (from the mirror) to `after`. Refuses an unknown object (404) for an
     * update or a removal, and a stale If-Match (412).
     */
    async changeTo(
      customerId: string,
      kind: VoiceKind,
      identity: string,
      after: VoiceState | null,
      options: { readonly create?: boolean; readonly ifMatch?: string } = {},
    ): Promise<VoiceObjectChange> {
      const cfg = await config(customerId);
      const before = options.create ? null : cfg.state(kind, identity);
      if (!options.create && before === null) {
        throw domainErrors.notFound(
          `${customerId} has no ${VOICE_KIND_SPECS[kind].label} "${identity}" (as of the last replication).`,
        );
      }
      const found = cfg.find(kind, identity);
      if (options.ifMatch !== undefined && options.ifMatch !== '*' && found) {
        if (options.ifMatch.replace(/^W\//, '') !== voiceEtag(found.data)) {
          throw domainErrors.versionMismatch(
            `The ${VOICE_KIND_SPECS[kind].label} "${identity}" changed since you read it; reload it and try again.`,
          );
        }
      }
      // The object's own spelling of its name, so that commands and the audit name it as Teams does.
      const name = found ? found.identity.replace(/^tag:/i, '') : identity;
      return { kind, identity: name, before, after };
    },

    /** Checks the changes and answers what they would do, or queues them as one task; nothing is queued on a refusal. */
    async submit(
      customerId: string,
      changes: readonly VoiceObjectChange[],
      options: { readonly dryRun: boolean; readonly initiatedBy: string },
    ): Promise<{ plan: VoicePlan; task: TaskRecord | null }> {
      await check(customerId, await config(customerId), changes);
      const plan = planOf(changes);
      if (options.dryRun || plan.commands.length === 0) return { plan, task: null };
      return { plan, task: await start(customerId, changes, options.initiatedBy, null) };
    },

    entry: (customerId: string, entryId: string) => deps.store.entry(customerId, entryId),
    audit: (customerId: string, top: number, after?: string) => deps.store.list(customerId, top, after),

    /**
     * Queues the inverse of an applied entry: every object back to its state before. Refused when an object has
     * moved since (the mirror no longer shows what the entry left), or when the inverse breaks a rule.
     */
    async rollback(
      customerId: string,
      entryId: string,
      options: { readonly dryRun: boolean; readonly initiatedBy: string },
    ): Promise<{ plan: VoicePlan; task: TaskRecord | null; entry: VoiceAuditEntry }> {
      const entry = await deps.store.entry(customerId, entryId);
      if (!entry) throw domainErrors.notFound(`${customerId} has no voice audit entry ${entryId}.`);
      if (entry.status !== 'processed') {
        throw domainErrors.conflict(
          'audit_field_not_applied',
          'Nothing to roll back',
          `Entry ${entryId} is ${entry.status}: only a processed change is rolled back.`,
        );
      }
      const cfg = await config(customerId);
      const inverse = [...entry.changes].reverse().map((change) => {
        const current = cfg.state(change.kind, change.identity);
        if (!sameState(change.kind, current, change.after)) {
          throw domainErrors.conflict(
            'audit_field_moved',
            'The object has changed since',
            `The ${VOICE_KIND_SPECS[change.kind].label} "${change.identity}" is no longer as entry ${entryId} left it; rolling it back would overwrite a later change.`,
          );
        }
        return inverseOf(change);
      });
      await check(customerId, cfg, inverse);
      const plan = planOf(inverse);
      if (options.dryRun || plan.commands.length === 0) return { plan, task: null, entry };
      return { plan, task: await start(customerId, inverse, options.initiatedBy, entryId), entry };
    },
  };
}

export type VoiceChangeService = ReturnType<typeof createVoiceChangeService>;
