import { randomUUID } from 'node:crypto';
import type { CustomerService } from '../customers/customer-service.js';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import type { NumberInventory } from '../numbers/number-inventory.js';
import type { MirrorStore } from '../replication/mirror-store.js';
import { inParallel } from '../replication/table-text.js';
import type { Stored } from '../storage/versioned-table.js';
import { withOptimisticRetry } from '../storage/versioned-table.js';
import { IMPORT_LIMITS, type ImportPlan, type PresetProblem } from '../users/bulk-import.js';
import type { UserImportService } from '../users/bulk-import-service.js';
import { customerWithUsers } from '../users/user-access.js';
import type { UserChange } from '../users/user-change.js';
import {
  BINDING_LIMITS,
  type Binding,
  type BindingInput,
  type BindingView,
  type PassChangeKind,
} from './lifecycle-binding.js';
import { diff, enforcedKey, type PlannedUser, winners } from './lifecycle-pass.js';
import type {
  BatchKind,
  BindingList,
  LifecycleState,
  LifecycleStore,
  PassBatch,
  PassJournal,
  PassSummary,
} from './lifecycle-store.js';
import type { UserTemplate } from './user-template.js';
import type { UserTemplateStore } from './user-template-store.js';
import { e164OfDirectory, followsDirectory, type UserTemplateService } from './user-template-service.js';

/** Who the audit and the import list name for what a pass queued. */
export const LIFECYCLE_ACTOR = 'Lifecycle Management';

export interface LifecycleDeps {
  readonly store: LifecycleStore;
  readonly templateStore: Pick<UserTemplateStore, 'list'>;
  readonly templates: Pick<UserTemplateService, 'lifecycleFile' | 'removalFile' | 'markTemplate'>;
  readonly customers: Pick<CustomerService, 'get'>;
  readonly mirror: Pick<MirrorStore, 'memberChunks' | 'getGroup' | 'getUser' | 'getUserVersion'>;
  readonly imports: Pick<UserImportService, 'start' | 'resume' | 'invalidRows' | 'dryRun'>;
  readonly numbers: Pick<NumberInventory, 'createReservation'>;
  readonly now?: () => Date;
  readonly log?: (message: string) => void;
}

export interface PreviewRow {
  readonly userId: string;
  readonly userPrincipalName: string | null;
  readonly kind: PassChangeKind;
  readonly bindingId: string;
  readonly rank: number | null;
  readonly templateId: number;
  readonly templateName: string | null;
  /** Each field the pass would change, with its value now. */
  readonly changes: ReadonlyArray<UserChange & { readonly before: unknown }>;
  readonly problem: string | null;
}

export interface Preview {
  readonly joins: number;
  readonly changes: number;
  readonly leaves: number;
  readonly overrides: number;
  readonly users: readonly PreviewRow[];
}

export interface UserLifecycleStatus {
  readonly state: 'none' | 'applied' | 'refused' | 'override';
  readonly bindingId: string | null;
  readonly rank: number | null;
  readonly templateId: number | null;
  readonly templateName: string | null;
  readonly reason: string | null;
}

/** A binding's list and its ETag, as the routes answer them. */
export interface BindingsAnswer {
  readonly bindings: BindingView[];
  readonly etag: string;
}

interface Computed {
  readonly list: BindingList;
  readonly state: LifecycleState;
  readonly templates: ReadonlyMap<number, UserTemplate>;
  readonly planned: PlannedUser[];
  readonly dropped: string[];
  readonly overrides: PlannedUser[];
  readonly gone: string[];
  readonly upns: ReadonlyMap<string, string>;
}

/** The list's version before its first binding (no row yet): a version all the same, for If-Match. */
const versionOf = (stored: Stored<BindingList>) =>
  stored.value.version ?? (stored.etag === '' ? 'W/"empty"' : stored.etag);

const BATCH_KIND: Readonly<Record<PlannedUser['kind'], BatchKind>> = {
  join: 'join',
  change: 'change',
  leave: 'leave',
};

export function createLifecycleService(deps: LifecycleDeps) {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? (() => undefined);

  function etagMatches(current: Stored<BindingList>, ifMatch: string | undefined) {
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== versionOf(current)) {
      throw domainErrors.versionMismatch('The bindings were changed since you read them; reload them.');
    }
  }

  async function views(customerId: string, stored: Stored<BindingList>): Promise<BindingsAnswer> {
    const templates = new Map((await deps.templateStore.list(customerId)).map((t) => [t.value.id, t.value]));
    const groupIds = [...new Set(stored.value.bindings.flatMap((b) => b.groupIds))];
    const names = new Map<string, string | null>();
    await inParallel(groupIds, 8, async (id) => {
      names.set(id, (await deps.mirror.getGroup(customerId, id))?.displayName ?? null);
    });
    return {
      etag: versionOf(stored),
      bindings: stored.value.bindings.map((b, index) => ({
        id: b.id,
        rank: index + 1,
        templateId: b.templateId,
        templateName: templates.get(b.templateId)?.name ?? null,
        groups: b.groupIds.map((id) => ({ id, displayName: names.get(id) ?? null })),
        onLeave: b.onLeave,
        quarantineDays: b.quarantineDays,
        error: b.error,
        members: b.outcome?.members ?? null,
        applied: b.outcome?.applied ?? null,
        refused: b.outcome?.refused ?? null,
        overrides: b.outcome?.overrides ?? null,
        createdAt: b.createdAt,
        updatedAt: b.updatedAt,
        createdBy: b.createdBy,
      })),
    };
  }

  /** The template exists and every group was replicated (a typo'd id would otherwise match nobody, silently). */
  async function validate(customerId: string, input: BindingInput): Promise<void> {
    const templates = await deps.templateStore.list(customerId);
    if (!templates.some((t) => t.value.id === input.templateId)) {
      throw domainErrors.conflict(
        'template_invalid',
        'No such template',
        `${customerId} has no user template ${input.templateId}.`,
        [
          {
            field: 'templateId',
            in: 'body',
            code: 'template_invalid',
            message: 'Not a template of this customer.',
          },
        ],
      );
    }
    const unknown: string[] = [];
    await inParallel(input.groupIds, 8, async (id) => {
      if (!(await deps.mirror.getGroup(customerId, id))) unknown.push(id);
    });
    if (unknown.length > 0) {
      throw domainErrors.conflict(
        'binding_group_unknown',
        'No such group',
        `Replication has not found group(s) ${unknown.join(', ')} in the tenant; check the ids, or replicate first.`,
        unknown.map((id) => ({
          field: `groupIds.${input.groupIds.indexOf(id)}`,
          in: 'body' as const,
          code: 'binding_group_unknown',
          message: 'Not a group of the tenant (as of the last replication).',
        })),
      );
    }
  }

  /** Changes the list under its ETag: `ifMatch` is the caller's copy; a race with a pass is retried. */
  async function changeList(
    customerId: string,
    ifMatch: string | undefined,
    change: (list: BindingList) => BindingList,
  ): Promise<BindingsAnswer> {
    await customerWithUsers(deps.customers, customerId);
    return withOptimisticRetry(async () => {
      const current = await deps.store.bindings(customerId);
      etagMatches(current, ifMatch);
      const next: BindingList = { ...change(current.value), version: `W/"${randomUUID()}"` };
      const etag = await deps.store.putBindings(customerId, next, current.etag);
      return views(customerId, { value: next, etag });
    });
  }

  function indexOf(list: BindingList, id: string): number {
    const index = list.bindings.findIndex((b) => b.id === id);
    if (index < 0) throw domainErrors.notFound(`No lifecycle binding ${id}.`);
    return index;
  }

  /** Members of each bound group, read once a pass. */
  async function memberships(customerId: string, bindings: readonly Binding[]) {
    const members = new Map<string, Set<string>>();
    for (const groupId of new Set(bindings.flatMap((b) => b.groupIds))) {
      const set = new Set<string>();
      for (const chunk of await deps.mirror.memberChunks(customerId, groupId)) {
        for (const id of chunk.members) set.add(id);
      }
      members.set(groupId, set);
    }
    return members;
  }

  /** The pass's diff and, of its changes and leavers, the users an operator changed by hand since. */
  async function compute(customerId: string): Promise<Computed> {
    const [{ value: list }, state, stored] = await Promise.all([
      deps.store.bindings(customerId),
      deps.store.state(customerId),
      deps.templateStore.list(customerId),
    ]);
    const templates = new Map(stored.map((t) => [t.value.id, t.value]));
    const won = winners(list.bindings, await memberships(customerId, list.bindings));
    // A number that follows the directory is part of what is enforced: those users are read.
    const directoryNumbers = new Map<string, string | null>();
    const reading = [...won].filter(([, w]) => {
      const template = templates.get(w.templateId);
      return template !== undefined && followsDirectory(template);
    });
    await inParallel(reading, 16, async ([userId, w]) => {
      const user = await deps.mirror.getUser(customerId, userId);
      const template = templates.get(w.templateId);
      if (!user || !template) return;
      const raw = template.assignNumberFrom === 'phone' ? (user.businessPhones[0] ?? null) : user.mobilePhone;
      directoryNumbers.set(userId, e164OfDirectory(raw));
    });
    const keys = new Map<number, string>();
    const { planned, dropped } = diff({
      won,
      state,
      bindings: list.bindings,
      retired: list.retired,
      keyOf: (userId, templateId) => {
        const template = templates.get(templateId);
        if (!template) return null;
        // One digest per template, unless its number follows each user's directory.
        if (followsDirectory(template)) return enforcedKey(template, directoryNumbers.get(userId) ?? null);
        let key = keys.get(templateId);
        if (key === undefined) {
          key = enforcedKey(template, null);
          keys.set(templateId, key);
        }
        return key;
      },
    });
    const checked = planned.filter((p) => p.kind !== 'join');
    const overridden = new Set<string>();
    const gone = new Set<string>();
    const upns = new Map<string, string>();
    await inParallel(checked, 16, async (p) => {
      const found = await deps.mirror.getUserVersion(customerId, p.userId);
      if (!found) gone.add(p.userId);
      else {
        upns.set(p.userId, found.user.userPrincipalName);
        if (found.edited) overridden.add(p.userId);
      }
    });
    return {
      list,
      state,
      templates,
      planned: planned.filter((p) => !overridden.has(p.userId) && !gone.has(p.userId)),
      dropped: [...dropped, ...gone],
      overrides: planned.filter((p) => overridden.has(p.userId)),
      gone: [...gone],
      upns,
    };
  }

  /** The imports a pass queues: per kind and template (and quarantine), at most an import's rows each. */
  function batchesOf(planned: readonly PlannedUser[]): PassBatch[] {
    const groups = new Map<string, PlannedUser[]>();
    for (const p of planned) {
      const key = `${p.kind}|${p.templateId}|${p.kind === 'leave' ? p.quarantineDays : 0}`;
      const list = groups.get(key) ?? [];
      list.push(p);
      groups.set(key, list);
    }
    const batches: PassBatch[] = [];
    for (const users of groups.values()) {
      for (let i = 0; i < users.length; i += IMPORT_LIMITS.maxRows) {
        const slice = users.slice(i, i + IMPORT_LIMITS.maxRows);
        const [first] = slice;
        if (!first) continue;
        batches.push({
          index: batches.length,
          kind: BATCH_KIND[first.kind],
          templateId: first.templateId,
          importId: randomUUID(),
          quarantineDays: first.quarantineDays,
          targets: slice.map((p) => ({ userId: p.userId, bindingId: p.bindingId, key: p.key })),
        });
      }
    }
    return batches;
  }

  /** The day `days` after today (the quarantine's last day). */
  const dayAfter = (days: number) => new Date(now().getTime() + days * 86_400_000).toISOString().slice(0, 10);

  /** Reserves the numbers of users who leave, so that nobody else gets them before the quarantine ends. */
  async function quarantine(customerId: string, batch: PassBatch): Promise<void> {
    if (batch.quarantineDays === 0) return;
    await inParallel(batch.targets, 8, async ({ userId }) => {
      const user = await deps.mirror.getUser(customerId, userId);
      if (!user?.lineUri) return;
      try {
        await deps.numbers.createReservation(
          customerId,
          {
            lineUri: user.lineUri,
            expireDate: dayAfter(batch.quarantineDays),
            reason: 'Quarantine',
            comments: `Released by Lifecycle Management when ${user.userPrincipalName} left the bound groups.`,
          },
          LIFECYCLE_ACTOR,
        );
      } catch (error) {
        // Reserved already (by an earlier try of this pass, or by an operator), or a number outside our ranges.
        if (!(error instanceof DomainError && ['conflict', 'validation'].includes(error.kind))) throw error;
      }
    });
  }

  /**
   * Queues a batch's import, or finds it queued by an earlier try of the same pass. A batch whose every user the
   * template refuses (the license exhausted, the range too) queues nothing: its refusals are the answer, the same
   * again when a resumed pass asks (no import was stored under its id).
   */
  async function queue(customerId: string, batch: PassBatch): Promise<Map<number, string> | null> {
    if (await deps.imports.resume(customerId, batch.importId)) return null;
    const targets = batch.targets.map((t) => ({ userId: t.userId }));
    let file: { text: string; problems?: ReadonlyMap<number, readonly PresetProblem[]> };
    try {
      if (batch.kind === 'leave') {
        await quarantine(customerId, batch);
        file = await deps.templates.removalFile(customerId, batch.templateId, targets);
      } else {
        file = await deps.templates.lifecycleFile(
          customerId,
          batch.templateId,
          targets,
          batch.kind === 'join' ? 'full' : 'policies',
        );
      }
    } catch (error) {
      // The template cannot be applied at all (its range deleted, say): every user of the batch is refused why.
      if (!(error instanceof DomainError) || error.kind === 'transient') throw error;
      return new Map(batch.targets.map((_, index) => [index, error.detail ?? error.title] as const));
    }
    const problems = file.problems ?? new Map<number, readonly PresetProblem[]>();
    if (problems.size === targets.length) {
      return new Map(
        [...problems].map(([row, list]) => [row - 2, list.map((p) => p.message).join(' ')] as const),
      );
    }
    await deps.imports.start(customerId, file.text, LIFECYCLE_ACTOR, {
      rowProblems: problems,
      importId: batch.importId,
    });
    return null;
  }

  async function queueAll(customerId: string, batches: readonly PassBatch[]) {
    const unqueued = new Map<number, Map<number, string>>();
    for (const batch of batches) {
      const refusals = await queue(customerId, batch);
      if (refusals) unqueued.set(batch.index, refusals);
    }
    return unqueued;
  }

  /**
   * After the imports are queued: the users' state and template marks from what each import took and refused
   * (read back from the imports, so a resumed pass finds the same), then the journal goes.
   */
  async function settle(
    customerId: string,
    journal: PassJournal,
    batches: readonly PassBatch[],
    unqueued: ReadonlyMap<number, Map<number, string>>,
  ) {
    const state = await deps.store.state(customerId);
    const touched = new Set<string>();
    let refused = 0;
    const counts = { joined: 0, changed: 0, left: 0 };
    for (const batch of batches) {
      const invalid =
        unqueued.get(batch.index) ??
        new Map(
          (await deps.imports.invalidRows(customerId, batch.importId)).map(
            (r) => [r.row - 2, r.error ?? 'Refused.'] as const,
          ),
        );
      const applied: string[] = [];
      batch.targets.forEach((target, index) => {
        touched.add(target.userId);
        const reason = invalid.get(index);
        const current = state.get(target.userId);
        if (reason !== undefined) {
          refused++;
          if (batch.kind === 'leave' && current)
            state.set(target.userId, { ...current, r: reason.slice(0, 500) });
          else
            state.set(target.userId, { b: target.bindingId, t: batch.templateId, r: reason.slice(0, 500) });
          return;
        }
        applied.push(target.userId);
        if (batch.kind === 'leave') state.delete(target.userId);
        else state.set(target.userId, { b: target.bindingId, t: batch.templateId, k: target.key ?? '' });
      });
      counts[batch.kind === 'join' ? 'joined' : batch.kind === 'change' ? 'changed' : 'left'] +=
        applied.length;
      await deps.templates.markTemplate(
        customerId,
        applied,
        batch.kind === 'leave' ? null : batch.templateId,
      );
    }
    await deps.store.putState(customerId, state, touched);
    await deps.store.clearJournal(customerId);
    return {
      state,
      refused,
      ...counts,
      imports: batches.filter((b) => !unqueued.has(b.index)).map((b) => b.importId),
      passId: journal.passId,
    };
  }

  /** Each binding's members, applied, refused and overrides as the state has them, and its Error column. */
  async function noteOutcomes(
    customerId: string,
    state: LifecycleState,
    problems: ReadonlyMap<string, string>,
    summary: PassSummary,
  ): Promise<void> {
    const tally = new Map<string, { members: number; applied: number; refused: number; overrides: number }>();
    const reasons = new Map<string, string>();
    for (const entry of state.values()) {
      const t = tally.get(entry.b) ?? { members: 0, applied: 0, refused: 0, overrides: 0 };
      t.members++;
      if (entry.o) t.overrides++;
      else if (entry.k !== undefined) t.applied++;
      if (entry.r !== undefined) {
        t.refused++;
        if (!reasons.has(entry.b)) reasons.set(entry.b, entry.r);
      }
      tally.set(entry.b, t);
    }
    const referenced = new Set([...state.values()].map((e) => e.b));
    await withOptimisticRetry(async () => {
      const current = await deps.store.bindings(customerId);
      const next: BindingList = {
        ...current.value,
        bindings: current.value.bindings.map((b) => {
          const t = tally.get(b.id) ?? { members: 0, applied: 0, refused: 0, overrides: 0 };
          const reason = reasons.get(b.id);
          const error =
            problems.get(b.id) ??
            (t.refused > 0 && reason
              ? `${t.refused} user${t.refused === 1 ? '' : 's'} not provisioned; the first: ${reason}`
              : null);
          return { ...b, outcome: t, error };
        }),
        retired: current.value.retired.filter((r) => referenced.has(r.id)),
        lastPass: summary,
      };
      if (current.etag === '' && next.bindings.length === 0 && next.retired.length === 0) return;
      await deps.store.putBindings(customerId, next, current.etag);
    });
  }

  /** Problems of a whole binding (not of a user): its template gone. */
  function bindingProblems(computed: Pick<Computed, 'list' | 'templates'>): Map<string, string> {
    const problems = new Map<string, string>();
    for (const b of computed.list.bindings) {
      if (!computed.templates.has(b.templateId)) {
        problems.set(
          b.id,
          `Template ${b.templateId} no longer exists; choose another template for this binding.`,
        );
      }
    }
    return problems;
  }

  /**
   * One lifecycle pass for the customer (after each replication cycle, under its lease): a journal a crash left
   * is finished first; then the diff is journaled, its imports queued under the journal's ids, and the state and
   * marks written from what the imports took.
   */
  async function run(customerId: string): Promise<PassSummary | null> {
    const left = await deps.store.journal(customerId);
    if (left) {
      const batches = await deps.store.batches(customerId, left);
      await settle(customerId, left, batches, await queueAll(customerId, batches));
      log(`Lifecycle pass ${left.passId} of ${customerId} resumed and finished.`);
    }
    const computed = await compute(customerId);
    const { list, state } = computed;
    if (list.bindings.length === 0 && state.size === 0 && list.retired.length === 0) return null;
    const passId = randomUUID();
    const at = now().toISOString();
    // What changes without queuing anything: leavers kept as they are, users gone, and overrides shown.
    const quiet = new Set<string>();
    for (const userId of computed.dropped) {
      if (state.delete(userId)) quiet.add(userId);
    }
    for (const p of computed.overrides) {
      const current = state.get(p.userId);
      if (current && !current.o) {
        state.set(p.userId, { ...current, o: 1 });
        quiet.add(p.userId);
      }
    }
    for (const p of computed.planned) {
      const current = state.get(p.userId);
      if (current?.o) {
        const { o: _cleared, ...rest } = current;
        state.set(p.userId, rest);
        quiet.add(p.userId);
      }
    }
    if (quiet.size > 0) await deps.store.putState(customerId, state, quiet);
    const batches = batchesOf(computed.planned);
    let settled = { state, refused: 0, joined: 0, changed: 0, left: 0, imports: [] as string[] };
    if (batches.length > 0) {
      const journal: PassJournal = { passId, startedAt: at, batches: batches.length };
      await deps.store.putJournal(customerId, journal, batches);
      settled = await settle(customerId, journal, batches, await queueAll(customerId, batches));
    }
    const summary: PassSummary = {
      passId,
      at,
      joined: settled.joined,
      changed: settled.changed,
      left: settled.left,
      refused: settled.refused,
      overrides: computed.overrides.length,
      imports: settled.imports,
    };
    await noteOutcomes(customerId, settled.state, bindingProblems(computed), summary);
    if (batches.length > 0) log(`Lifecycle pass ${passId} of ${customerId}: ${JSON.stringify(summary)}.`);
    return summary;
  }

  /** The preview's rows: the import's dry run of each batch (the first `top` users), with their field changes. */
  async function previewRows(customerId: string, computed: Computed, top: number): Promise<PreviewRow[]> {
    const rankOf = new Map(computed.list.bindings.map((b, i) => [b.id, i + 1]));
    const rows: PreviewRow[] = computed.overrides.slice(0, top).map((p) => ({
      userId: p.userId,
      userPrincipalName: computed.upns.get(p.userId) ?? null,
      kind: 'override',
      bindingId: p.bindingId,
      rank: rankOf.get(p.bindingId) ?? null,
      templateId: p.templateId,
      templateName: computed.templates.get(p.templateId)?.name ?? null,
      changes: [],
      problem:
        'An operator changed this user by hand since the template was applied: the pass leaves them as they are.',
    }));
    for (const batch of batchesOf(computed.planned)) {
      if (rows.length >= top) break;
      const slice = batch.targets.slice(0, top - rows.length);
      const targets = slice.map((t) => ({ userId: t.userId }));
      const template = computed.templates.get(batch.templateId);
      let plan: ImportPlan;
      if (batch.kind === 'leave') {
        plan = await deps.imports.dryRun(
          customerId,
          (await deps.templates.removalFile(customerId, batch.templateId, targets)).text,
        );
      } else {
        const file = await deps.templates.lifecycleFile(
          customerId,
          batch.templateId,
          targets,
          batch.kind === 'join' ? 'full' : 'policies',
          // A preview takes no license, starts no grace period and raises no alarm.
          true,
        );
        plan = await deps.imports.dryRun(customerId, file.text, { rowProblems: file.problems });
      }
      slice.forEach((target, index) => {
        const planned = plan.rows[index];
        const row = planned?.row ?? index + 2;
        rows.push({
          userId: target.userId,
          userPrincipalName: planned?.userPrincipalName ?? computed.upns.get(target.userId) ?? null,
          kind: batch.kind,
          bindingId: target.bindingId,
          rank: rankOf.get(target.bindingId) ?? null,
          templateId: batch.templateId,
          templateName: template?.name ?? null,
          changes: (plan.planned.get(row) ?? []).map(({ change, before }) => ({ ...change, before })),
          problem: planned?.status === 'invalid' ? planned.error : null,
        });
      });
    }
    return rows;
  }

  return {
    async list(customerId: string): Promise<BindingsAnswer> {
      await customerWithUsers(deps.customers, customerId);
      return views(customerId, await deps.store.bindings(customerId));
    },

    async create(customerId: string, input: BindingInput, by: string) {
      await customerWithUsers(deps.customers, customerId);
      await validate(customerId, input);
      const id = randomUUID().replace(/-/g, '').slice(0, 12);
      const at = now().toISOString();
      const answer = await changeList(customerId, undefined, (list) => {
        if (list.bindings.length >= BINDING_LIMITS.perCustomer) {
          throw domainErrors.limitReached(
            'binding_limit_reached',
            'Too many bindings',
            `A customer has at most ${BINDING_LIMITS.perCustomer} lifecycle bindings; delete one first.`,
          );
        }
        const binding: Binding = {
          ...input,
          id,
          createdAt: at,
          updatedAt: at,
          createdBy: by,
          error: null,
          outcome: null,
        };
        return { ...list, bindings: [...list.bindings, binding] };
      });
      return { ...answer, binding: answer.bindings.find((b) => b.id === id) as BindingView };
    },

    async update(customerId: string, id: string, input: BindingInput, ifMatch: string | undefined) {
      await customerWithUsers(deps.customers, customerId);
      await validate(customerId, input);
      const answer = await changeList(customerId, ifMatch, (list) => {
        const index = indexOf(list, id);
        const bindings = [...list.bindings];
        const current = bindings[index] as Binding;
        bindings[index] = { ...current, ...input, updatedAt: now().toISOString() };
        return { ...list, bindings };
      });
      return { ...answer, binding: answer.bindings.find((b) => b.id === id) as BindingView };
    },

    /** The manual's arrow keys: the binding to `rank`, the others shifted; the next pass re-evaluates every user. */
    async move(customerId: string, id: string, rank: number, ifMatch: string | undefined) {
      return changeList(customerId, ifMatch, (list) => {
        const index = indexOf(list, id);
        const bindings = [...list.bindings];
        const [moved] = bindings.splice(index, 1);
        bindings.splice(Math.min(rank, bindings.length + 1) - 1, 0, moved as Binding);
        return { ...list, bindings };
      });
    },

    /** Deletes the binding; its users are handled as leavers by the next pass, as the binding said. */
    async remove(customerId: string, id: string, ifMatch: string | undefined): Promise<void> {
      await changeList(customerId, ifMatch, (list) => {
        const index = indexOf(list, id);
        const gone = list.bindings[index] as Binding;
        return {
          ...list,
          bindings: list.bindings.filter((b) => b.id !== id),
          retired: [
            ...list.retired,
            {
              id: gone.id,
              templateId: gone.templateId,
              onLeave: gone.onLeave,
              quarantineDays: gone.quarantineDays,
            },
          ],
        };
      });
    },

    /** The bindings that use the template, as "Rank n", for the template's delete to refuse with. */
    async boundBy(customerId: string, templateId: number): Promise<string[]> {
      const { value } = await deps.store.bindings(customerId);
      return value.bindings.flatMap((b, i) => (b.templateId === templateId ? [`Rank ${i + 1}`] : []));
    },

    /**
     * Where the user stands with Lifecycle Management: the binding and template the passes gave them, and whether
     * they have it, were refused (and why), or are an operator's override.
     */
    async userStatus(customerId: string, userId: string): Promise<UserLifecycleStatus> {
      await customerWithUsers(deps.customers, customerId);
      const [entry, { value }, templates] = await Promise.all([
        deps.store.userState(customerId, userId.toLowerCase()),
        deps.store.bindings(customerId),
        deps.templateStore.list(customerId),
      ]);
      if (!entry) {
        return {
          state: 'none',
          bindingId: null,
          rank: null,
          templateId: null,
          templateName: null,
          reason: null,
        };
      }
      const rank = value.bindings.findIndex((b) => b.id === entry.b);
      return {
        state: entry.o ? 'override' : entry.k !== undefined && entry.r === undefined ? 'applied' : 'refused',
        bindingId: entry.b,
        rank: rank < 0 ? null : rank + 1,
        templateId: entry.t,
        templateName: templates.find((t) => t.value.id === entry.t)?.value.name ?? null,
        reason: entry.r ?? null,
      };
    },

    /** The last pass's summary (null before the first). */
    async lastPass(customerId: string): Promise<PassSummary | null> {
      await customerWithUsers(deps.customers, customerId);
      const { value } = await deps.store.bindings(customerId);
      return value.lastPass ?? null;
    },

    run,

    /** What the next pass would do, computed as it would be; nothing is queued or written. */
    async preview(customerId: string, top: number): Promise<Preview> {
      await customerWithUsers(deps.customers, customerId);
      const computed = await compute(customerId);
      const count = (kind: PlannedUser['kind']) => computed.planned.filter((p) => p.kind === kind).length;
      return {
        joins: count('join'),
        changes: count('change'),
        leaves: count('leave'),
        overrides: computed.overrides.length,
        users: await previewRows(customerId, computed, top),
      };
    },
  };
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;

export type { PassSummary };
