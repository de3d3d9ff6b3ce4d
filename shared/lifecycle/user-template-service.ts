import { csvParse, csvStringify } from '../platform/csv.js';
import type { CustomerService } from '../customers/customer-service.js';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import type { LicenseGate } from '../licenses/license-gate.js';
import type { NumberInventory } from '../numbers/number-inventory.js';
import type { IndexCursor, MirrorStore } from '../replication/mirror-store.js';
import { inParallel } from '../replication/table-text.js';
import type { MirrorUser } from '../replication/mirror-user.js';
import type { Stored } from '../storage/versioned-table.js';
import {
  CLEAR_KEYWORD,
  GLOBAL_POLICY,
  IMPORT_LIMITS,
  type ImportDirectory,
  type PresetProblem,
} from '../users/bulk-import.js';
import type { UserImportService } from '../users/bulk-import-service.js';
import { customerWithUsers } from '../users/user-access.js';
import { USER_POLICY_TYPES } from '../users/user-change.js';
import {
  AUTOMATIC_POLICY,
  TEMPLATE_FILE_NUMBER_HEADERS,
  TEMPLATE_FILE_USER_HEADERS,
  TEMPLATE_LIMITS,
  type UserTemplate,
  type UserTemplateInput,
  type UserTemplateView,
} from './user-template.js';
import type { UserTemplateStore } from './user-template-store.js';

/** The policy types whose objects replication mirrors: a template's value for them must name one. */
const MIRRORED_POLICY_TYPES = new Set(['OnlineVoiceRoutingPolicy', 'TenantDialPlan', 'TeamsCallingPolicy']);

/** One user a template is applied to; `lineUri` is the number of a template that assigns numbers from File. */
export interface TemplateTarget {
  readonly userId: string;
  readonly lineUri?: string;
}

export interface UserTemplateServiceDeps {
  readonly store: UserTemplateStore;
  readonly customers: Pick<CustomerService, 'get'>;
  readonly mirror: Pick<MirrorStore, 'getUser' | 'voiceObjects' | 'updateUsers' | 'indexPage'>;
  /** Finds users by UPN (the import's directory): a target may name its user either way. */
  readonly directory: ImportDirectory;
  readonly numbers: Pick<NumberInventory, 'listRanges' | 'availableNumbers'>;
  readonly imports: Pick<UserImportService, 'dryRun' | 'start'>;
  /** The Lifecycle Management bindings that use a template ("Rank 2"): a bound template is not deleted. */
  readonly boundBy?: (customerId: string, templateId: number) => Promise<readonly string[]>;
  /** Refuses the users the customer has no license left for (`license_exhausted`); none: no license check. */
  readonly licenseGate?: Pick<LicenseGate, 'refuseRows'>;
  readonly now?: () => Date;
}

/**
 * `full`: everything the template sets; `policies`: what a lifecycle pass enforces again (the policies, a directory
 * number, and a range's number only for a user without one).
 */
export type TemplateMode = 'full' | 'policies';

/** Phone and Mobile numbers follow the user's directory attribute (the manual's "Phone" rule); others are given once. */
export const followsDirectory = (template: Pick<UserTemplate, 'assignNumberFrom'>) =>
  template.assignNumberFrom === 'phone' || template.assignNumberFrom === 'mobile';

/**
 * Manage Templates (manual-part-D §1.6) and Apply Template: a template applied to users becomes a user import of
 * the changes it makes them (one task, a dry run, progress, a result CSV, and the import's checks of every number
 * and policy), so that a template, a CSV and a security-group binding share one path to Teams.
 */
export function createUserTemplateService(deps: UserTemplateServiceDeps) {
  const now = deps.now ?? (() => new Date());

  async function getOrThrow(customerId: string, id: number): Promise<Stored<UserTemplate>> {
    const found = await deps.store.get(customerId, id);
    if (!found) throw domainErrors.notFound(`${customerId} has no template ${id}.`);
    return found;
  }

  function checkVersion(current: Stored<UserTemplate>, ifMatch: string | undefined): void {
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== current.etag) {
      throw domainErrors.versionMismatch(
        `Template "${current.value.name}" was changed since you read it; reload it.`,
      );
    }
  }

  /** The template's policies exist in the tenant (as of the last replication) and its range in the inventory. */
  async function validate(customerId: string, input: UserTemplateInput): Promise<void> {
    const objects = input.policies.some((p) =>
      MIRRORED_POLICY_TYPES.has(USER_POLICY_TYPES[p.policyType].teamsType),
    )
      ? await deps.mirror.voiceObjects(customerId)
      : [];
    const fields = input.policies.flatMap((policy, index) => {
      const { teamsType, label } = USER_POLICY_TYPES[policy.policyType];
      if (policy.value === AUTOMATIC_POLICY || !MIRRORED_POLICY_TYPES.has(teamsType)) return [];
      const wanted = [`tag:${policy.value}`.toLowerCase(), policy.value.toLowerCase()];
      const exists = objects.some(
        (o) => o.policyName === teamsType && wanted.includes(o.identity.toLowerCase()),
      );
      return exists
        ? []
        : [
            {
              field: `policies.${index}.value`,
              in: 'body' as const,
              code: 'user_policy_unknown',
              message: `${customerId} has no ${label} named "${policy.value}" (as of the last replication).`,
            },
          ];
    });
    if (fields.length > 0) {
      throw domainErrors.conflict(
        'user_policy_unknown',
        'No such policy',
        fields.map((f) => f.message).join(' '),
        fields,
      );
    }
    if (input.numberRangeId !== null) await rangeOf(customerId, input.numberRangeId);
  }

  async function rangeOf(customerId: string, rangeId: string) {
    const found = (await deps.numbers.listRanges(customerId)).find((r) => r.range.rangeId === rangeId);
    if (!found) {
      throw domainErrors.conflict(
        'template_range_unknown',
        'No such number range',
        `${customerId} has no number range ${rangeId}.`,
        [
          {
            field: 'numberRangeId',
            in: 'body',
            code: 'template_range_unknown',
            message: 'Not a range of this customer.',
          },
        ],
      );
    }
    return found.range;
  }

  /** The customer's ranges by id, read once for a page of templates. */
  async function rangesOf(customerId: string) {
    return new Map((await deps.numbers.listRanges(customerId)).map((r) => [r.range.rangeId, r.range]));
  }

  async function view(stored: Stored<UserTemplate>) {
    return viewWith(stored, await rangesOf(stored.value.customerId));
  }

  function viewWith(
    { value, etag }: Stored<UserTemplate>,
    ranges: ReadonlyMap<string, { name: string; start: string; end: string }>,
  ): { view: UserTemplateView; etag: string } {
    const range = value.numberRangeId === null ? null : (ranges.get(value.numberRangeId) ?? null);
    return {
      etag,
      view: {
        id: value.id,
        customerId: value.customerId,
        name: value.name,
        registrarPool: 'Office365',
        enterpriseVoice: value.enterpriseVoice,
        clearLineUri: value.clearLineUri,
        assignNumberFrom: value.assignNumberFrom,
        numberRangeId: value.numberRangeId,
        numberRange: range ? { name: range.name, start: `+${range.start}`, end: `+${range.end}` } : null,
        useExtensions: value.useExtensions,
        extensionDigits: value.extensionDigits,
        policies: value.policies,
        createdAt: value.createdAt,
        updatedAt: value.updatedAt,
        createdBy: value.createdBy,
      },
    };
  }

  async function create(customerId: string, input: UserTemplateInput, by: string) {
    await customerWithUsers(deps.customers, customerId);
    await validate(customerId, input);
    return view(
      await deps.store.create(customerId, input, {
        at: now().toISOString(),
        by,
        limit: TEMPLATE_LIMITS.perCustomer,
      }),
    );
  }

  /**
   * The import file the template makes for `targets`, with the problems of rows it cannot fill (no phone to take,
   * the range exhausted): each user one row, the columns only those the template sets.
   */
  async function importFileOf(
    template: UserTemplate,
    targets: readonly TemplateTarget[],
    mode: TemplateMode = 'full',
    dryRun = false,
  ) {
    const { customerId } = template;
    const users = await usersOf(customerId, targets);
    const problems = new Map<number, PresetProblem[]>();
    // Policies are enforced again on every pass; a number only where it follows a directory attribute.
    // Enforced again: the number that follows a directory attribute; a range's number still goes to a user who
    // has none (moved into a numbered persona), while one who has a number keeps it.
    const withNumber =
      mode === 'full'
        ? template.clearLineUri || template.assignNumberFrom !== null
        : followsDirectory(template) || template.assignNumberFrom === 'number-range';
    const numbers = withNumber
      ? await numbersFor(template, targets, users, problems)
      : new Map<number, string>();
    await deps.licenseGate?.refuseRows(
      customerId,
      targets.map((t) => users.get(t.userId)?.id ?? null),
      problems,
      { factor: 'byTemplate', dryRun },
    );
    const header = ['User'];
    if (withNumber) header.push('LineUri');
    if (template.enterpriseVoice !== 'do-not-configure') header.push('EnterpriseVoice');
    for (const policy of template.policies) header.push(policy.policyType);
    const rows = targets.map((target, index) => {
      const cells = [users.get(target.userId)?.userPrincipalName ?? target.userId];
      if (header.includes('LineUri'))
        cells.push(template.clearLineUri ? CLEAR_KEYWORD : (numbers.get(index) ?? ''));
      if (template.enterpriseVoice !== 'do-not-configure')
        cells.push(String(template.enterpriseVoice === 'enable'));
      for (const policy of template.policies) {
        cells.push(policy.value === AUTOMATIC_POLICY ? GLOBAL_POLICY : policy.value);
      }
      return cells;
    });
    return { text: csvStringify().stringify([header, ...rows], { record_delimiter: '\r\n' }), problems };
  }

  /** The mirrored users the targets name, by the target's `userId`: object ids by point reads, UPNs in one pass. */
  async function usersOf(customerId: string, targets: readonly TemplateTarget[]) {
    const users = new Map<string, MirrorUser>();
    const byUpn = targets.filter((t) => !OBJECT_ID.test(t.userId));
    await inParallel(
      targets.filter((t) => OBJECT_ID.test(t.userId)),
      16,
      async (target) => {
        const user = await deps.mirror.getUser(customerId, target.userId.toLowerCase());
        if (user) users.set(target.userId, user);
      },
    );
    if (byUpn.length > 0) {
      const found = await deps.directory.findUsers(
        customerId,
        new Set(byUpn.map((t) => t.userId.toLowerCase())),
      );
      for (const target of byUpn) {
        const user = found.get(target.userId.toLowerCase());
        if (user) users.set(target.userId, user);
      }
    }
    return users;
  }

  /** Each row's number (by target index), from the template's source; a row it cannot fill gets a problem. */
  async function numbersFor(
    template: UserTemplate,
    targets: readonly TemplateTarget[],
    users: ReadonlyMap<string, MirrorUser>,
    problems: Map<number, PresetProblem[]>,
  ): Promise<Map<number, string>> {
    const numbers = new Map<number, string>();
    const refuse = (index: number, code: string, message: string) =>
      problems.set(index + 2, [...(problems.get(index + 2) ?? []), { column: 'LineUri', code, message }]);
    const withExtension = (e164: string) =>
      template.useExtensions && template.extensionDigits !== null
        ? `tel:${e164};ext=${e164.slice(-template.extensionDigits)}`
        : `tel:${e164}`;
    const source = template.assignNumberFrom;
    if (source === 'number-range' && template.numberRangeId !== null) {
      const range = await rangeOf(template.customerId, template.numberRangeId);
      // A number from a range is given once: a user who has a number keeps it (manual: "only assigned during the
      // automatic creation of the user").
      const wanting = targets.flatMap((t, index) => (users.get(t.userId)?.lineUri ? [] : [index]));
      const free =
        wanting.length === 0
          ? []
          : (await deps.numbers.availableNumbers(template.customerId, range.rangeId, { top: wanting.length }))
              .lineUris;
      wanting.forEach((index, k) => {
        const lineUri = free[k];
        if (lineUri) numbers.set(index, withExtension(lineUri.replace(/^tel:/, '')));
        else refuse(index, 'range_exhausted', `Range "${range.name}" has no free number left for this user.`);
      });
      return numbers;
    }
    targets.forEach((target, index) => {
      const user = users.get(target.userId);
      if (!user || source === null || source === 'number-range') return;
      if (source === 'file') {
        if (target.lineUri) numbers.set(index, target.lineUri);
        else
          refuse(
            index,
            'number_missing',
            'The template assigns numbers from File: give this user a lineUri.',
          );
        return;
      }
      const [label, raw] =
        source === 'phone'
          ? ['Phone (businessPhones)', user.businessPhones[0]]
          : ['Mobile (mobilePhone)', user.mobilePhone];
      const e164 = e164OfDirectory(raw ?? null);
      if (e164) numbers.set(index, withExtension(e164));
      else
        refuse(
          index,
          'number_source_empty',
          raw
            ? `The user's ${label} "${raw}" is not an international number (+ and the country code).`
            : `The user has no ${label} in Entra ID to take the number from.`,
        );
    });
    return numbers;
  }

  /** The import file of the template applied to `targets`, checked as far as a template can be. */
  async function fileFor(
    customerId: string,
    id: number,
    targets: readonly TemplateTarget[],
    mode: TemplateMode = 'full',
    dryRun = false,
  ) {
    await customerWithUsers(deps.customers, customerId);
    const { value } = await getOrThrow(customerId, id);
    if (targets.length > IMPORT_LIMITS.maxRows) {
      throw domainErrors.validation([
        {
          field: 'users',
          in: 'body',
          code: 'too_big',
          message: `At most ${IMPORT_LIMITS.maxRows} users at once.`,
        },
      ]);
    }
    return { ...(await importFileOf(value, targets, mode, dryRun)), template: value };
  }

  /**
   * The users now show the template (`null`: none). A template given by it is no longer the operator's own edit:
   * the user counts By Template, and a later edit by hand is the operator's override of it (docs/lifecycle.md).
   */
  async function markTemplate(customerId: string, userIds: readonly string[], templateId: number | null) {
    if (userIds.length === 0) return;
    await deps.mirror.updateUsers(
      customerId,
      userIds.map((userId) => ({
        id: userId,
        template: templateId === null ? null : String(templateId),
        ...(templateId === null ? {} : { edited: false }),
      })),
      templateId === null ? 'lifecycle-removed' : `template-${templateId}`,
    );
  }

  return {
    async list(customerId: string) {
      await customerWithUsers(deps.customers, customerId);
      const [templates, ranges] = await Promise.all([deps.store.list(customerId), rangesOf(customerId)]);
      return templates.map((t) => viewWith(t, ranges));
    },

    async get(customerId: string, id: number) {
      await customerWithUsers(deps.customers, customerId);
      return view(await getOrThrow(customerId, id));
    },

    create,

    async update(customerId: string, id: number, input: UserTemplateInput, ifMatch: string | undefined) {
      await customerWithUsers(deps.customers, customerId);
      const current = await getOrThrow(customerId, id);
      checkVersion(current, ifMatch);
      await validate(customerId, input);
      const next: UserTemplate = { ...current.value, ...input, updatedAt: now().toISOString() };
      return view(await deps.store.replace(current, next));
    },

    /** The manual's "Clone as": the template's settings under a new name and id. */
    async clone(customerId: string, id: number, name: string, by: string) {
      await customerWithUsers(deps.customers, customerId);
      const { value } = await getOrThrow(customerId, id);
      const {
        id: _id,
        customerId: _customer,
        createdAt: _at,
        updatedAt: _updated,
        createdBy: _by,
        ...settings
      } = value;
      return create(customerId, { ...settings, name }, by);
    },

    /** Deletes the template; its users no longer show it (nor count By Template). */
    async remove(customerId: string, id: number, ifMatch: string | undefined): Promise<void> {
      await customerWithUsers(deps.customers, customerId);
      const current = await getOrThrow(customerId, id);
      checkVersion(current, ifMatch);
      const bindings = deps.boundBy ? await deps.boundBy(customerId, id) : [];
      if (bindings.length > 0) {
        throw domainErrors.conflict(
          'template_bound',
          'The template is bound to security groups',
          `Template "${current.value.name}" is used by Lifecycle Management binding(s) ${bindings.join(', ')}; delete or change them first.`,
        );
      }
      await deps.store.remove(current);
      let cursor: IndexCursor | undefined;
      do {
        const page = await deps.mirror.indexPage(customerId, {
          family: 'display-name',
          where: [['tpl', 'eq', String(id)]],
          top: 1000,
          ...(cursor ? { cursor } : {}),
        });
        const ids = page.items.map((u) => ({ id: u.id, template: null }));
        if (ids.length > 0) await deps.mirror.updateUsers(customerId, ids, `template-${id}-deleted`);
        cursor = page.next ?? undefined;
      } while (cursor);
    },

    /** The customer's template names by id (as the users' Template mark holds it). */
    async names(customerId: string): Promise<ReadonlyMap<string, string>> {
      return new Map((await deps.store.list(customerId)).map(({ value }) => [String(value.id), value.name]));
    },

    /** What applying the template to `targets` would change, per user; nothing is queued. */
    async dryRun(customerId: string, id: number, targets: readonly TemplateTarget[]) {
      const { text, problems } = await fileFor(customerId, id, targets, 'full', true);
      return deps.imports.dryRun(customerId, text, { rowProblems: problems });
    },

    /**
     * Applies the template to `targets` as one import task. The users it applies to show the template (the Users
     * list's Template column) from now on; a row refused before anything was queued does not.
     */
    async apply(customerId: string, id: number, targets: readonly TemplateTarget[], by: string) {
      const { text, problems, template } = await fileFor(customerId, id, targets);
      const { value, plan } = await deps.imports.start(customerId, text, by, { rowProblems: problems });
      const applied = (plan?.rows ?? []).flatMap((r) =>
        r.status !== 'invalid' && r.userId !== null ? [r.userId] : [],
      );
      await markTemplate(customerId, applied, template.id);
      return value;
    },

    markTemplate,

    /**
     * The import file of a template for a lifecycle pass: `full` for users who join (their number too), `policies`
     * for users whose template is enforced again (policies, Enterprise Voice, and a Phone or Mobile number).
     */
    lifecycleFile(
      customerId: string,
      id: number,
      targets: readonly TemplateTarget[],
      mode: TemplateMode,
      dryRun = false,
    ) {
      return fileFor(customerId, id, targets, mode, dryRun);
    },

    /**
     * The import file that takes back what a template gave users who left its groups (a binding's `remove`): the
     * template's policies back to Global, and the number unassigned.
     */
    async removalFile(customerId: string, id: number, targets: readonly TemplateTarget[]) {
      const { value } = await getOrThrow(customerId, id);
      const header = ['User', 'LineUri', ...value.policies.map((p) => p.policyType)];
      const users = await usersOf(customerId, targets);
      const rows = targets.map((target) => [
        users.get(target.userId)?.userPrincipalName ?? target.userId,
        CLEAR_KEYWORD,
        ...value.policies.map(() => GLOBAL_POLICY),
      ]);
      return {
        text: csvStringify().stringify([header, ...rows], { record_delimiter: '\r\n' }),
        template: value,
      };
    },
  };
}

/**
 * The users of a template file: one row each, the user by SIP address (`sip:` optional), UPN or object id, and its
 * number when the file has a Number column. Refused whole when it is not CSV or its header names no user.
 */
export function templateFileTargets(text: string): TemplateTarget[] {
  let records: string[][];
  try {
    records = csvParse().parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as string[][];
  } catch (error) {
    throw new DomainError('validation', {
      code: 'csv_malformed',
      title: 'The file is not valid CSV',
      detail: error instanceof Error ? error.message : 'The CSV parser refused the file.',
    });
  }
  const [header = [], ...rows] = records;
  const squash = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, '');
  const find = (names: readonly string[]) => header.findIndex((h) => names.map(squash).includes(squash(h)));
  const user = find(TEMPLATE_FILE_USER_HEADERS);
  const number = find(TEMPLATE_FILE_NUMBER_HEADERS);
  if (user < 0 || rows.length === 0) {
    throw new DomainError('validation', {
      code: user < 0 ? 'csv_header_invalid' : 'csv_no_rows',
      title: user < 0 ? 'The file names no user column' : 'The file has no rows',
      detail:
        user < 0
          ? `The header needs a user column (${TEMPLATE_FILE_USER_HEADERS.join(', ')}) and may have a number column (${TEMPLATE_FILE_NUMBER_HEADERS.join(', ')}).`
          : 'The file has no data rows under its header.',
    });
  }
  return rows.map((cells) => {
    const lineUri = number >= 0 ? cells[number] : undefined;
    return {
      userId: (cells[user] ?? '').replace(/^sip:/i, ''),
      ...(lineUri ? { lineUri } : {}),
    };
  });
}

const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A directory phone number as E.164 (`+` and digits), or null when it is not international. */
export function e164OfDirectory(raw: string | null): string | null {
  if (!raw) return null;
  const cleaned = raw.replace(/[\s().\-/]/g, '');
  return /^\+[1-9]\d{6,14}$/.test(cleaned) ? cleaned : null;
}

export type UserTemplateService = ReturnType<typeof createUserTemplateService>;
