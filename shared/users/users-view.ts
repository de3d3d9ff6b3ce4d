import { csvStringify } from '../platform/csv.js';
import { z } from 'zod';
import type { CustomerService } from '../customers/customer-service.js';
import { domainErrors } from '../errors/domain-errors.js';
import { nextLinkOf, nextLinkSchema, pagingQuery } from '../paging/paging.js';
import type { Condition } from '../storage/versioned-table.js';
import type { IndexCursor, IndexedUser, MirrorSku, MirrorStore } from '../replication/mirror-store.js';
import { type CustomerMirrorDeps, mirrorHeader, routingOf } from '../replication/replication-views.js';
import { KEY_SEPARATOR, USER_SORTS, keyPart, policyKey, searchWords } from '../replication/user-index.js';
import { customerWithUsers } from './user-access.js';
import { USER_POLICY_TYPES, USER_POLICY_TYPE_IDS } from './user-change.js';
import type { UserChangeService } from './user-change-service.js';
import { pendingChangeSchema, userAuditEntrySchema, userAuditPath } from './user-change-views.js';

/**
 * The Users list, its CSV export and a user's details (issue 11 items 1, 2 and 5), read from the mirror's index
 * rows (shared/replication/user-index.ts): a page is one key range of one index partition, filtered by storage.
 */

const optionalBoolean = (name: string, description: string) =>
  z
    .preprocess(
      (value) => (value === 'true' ? true : value === 'false' ? false : value),
      z.boolean({ error: `${name} must be true or false.` }),
    )
    .optional()
    .meta({ description });

const SEARCH_MAX = 100;

/** How many audit entries the details show; the rest is a link away. */
const RECENT_AUDIT_ENTRIES = 5;

/** The list's filters, shared by the page and the CSV export. */
const filterShape = {
  search: z
    .string()
    .trim()
    .min(1, 'search must not be empty.')
    .max(SEARCH_MAX, `search can be at most ${SEARCH_MAX} characters long.`)
    .optional()
    .meta({
      description:
        'Case-insensitive word prefixes: each word must start a word of the display name, the UPN (or a part of ' +
        'its local part) or the Line URI\'s digits ("ann", "smith", "4930"); digits typed with +, spaces or ' +
        'dashes search the number. Results come in the order of the matching word.',
    }),
  sort: z
    .enum(USER_SORTS, { error: `sort must be one of ${USER_SORTS.join(', ')}.` })
    .optional()
    .meta({ description: 'Ascending; display-name when omitted. Not with search.' }),
  hasNumber: optionalBoolean('hasNumber', 'true: only users with a Line URI; false: only users without.'),
  enterpriseVoice: optionalBoolean(
    'enterpriseVoice',
    'Only users whose Enterprise Voice is on (true) or off.',
  ),
  licensed: optionalBoolean('licensed', 'Only users with at least one license (true) or none (false).'),
  pending: optionalBoolean('pending', 'Only users with (true) or without (false) pending changes.'),
  voiceRoutingPolicy: z
    .string()
    .trim()
    .min(1, 'voiceRoutingPolicy must not be empty.')
    .max(256, 'voiceRoutingPolicy can be at most 256 characters long.')
    .optional()
    .meta({
      description: 'Only users with this Online Voice Routing Policy (case-insensitive; Global for none).',
    }),
  template: z
    .string()
    .trim()
    .min(1, 'template must not be empty.')
    .max(64, 'template can be at most 64 characters long.')
    .optional()
    .meta({ description: 'Only users this user template was last applied to (its name, case-insensitive).' }),
};

export const usersListQuery = pagingQuery(isIndexCursor).extend(filterShape);
export const usersExportQuery = z.object(filterShape);
type UsersFilter = z.output<typeof usersExportQuery>;

function isIndexCursor(key: string): boolean {
  try {
    const parsed = JSON.parse(key) as Record<string, unknown> | null;
    if (parsed === null || typeof parsed !== 'object') return false;
    const { k, t, r } = parsed;
    const byBucket = (value: unknown) =>
      value === undefined ||
      (typeof value === 'object' &&
        value !== null &&
        Object.values(value).every((v) => typeof v === 'string'));
    return typeof k === 'string' || (k === undefined && byBucket(t) && byBucket(r) && (t ?? r) !== undefined);
  } catch {
    return false;
  }
}

const licenseSchema = z
  .object({
    skuId: z.string(),
    skuPartNumber: z
      .string()
      .nullable()
      .meta({
        description:
          "The subscription's name in the tenant (Graph `skuPartNumber`, e.g. SPE_E5), from the mirror's " +
          'subscriptions; null until replication has read them, or when the tenant no longer has the subscription.',
        example: 'SPE_E5',
      }),
  })
  .meta({ id: 'UserLicense' });

type License = z.output<typeof licenseSchema>;

/** What a page derives from the tenant rather than the user. */
interface TenantViews {
  /** The Online PSTN Gateway of a voice routing policy. */
  readonly gatewayOf: (policy: string) => string | null;
  readonly licensesOf: (skuIds: readonly string[]) => License[];
  /** The customer's user templates' names by id (the users' Template mark). */
  readonly templates: ReadonlyMap<string, string>;
}

/** Names a user's skuIds from the tenant's subscriptions. */
function licensesNamer(skus: readonly MirrorSku[]): (skuIds: readonly string[]) => License[] {
  const names = new Map(skus.map((sku) => [sku.skuId, sku.skuPartNumber]));
  return (skuIds) =>
    skuIds.map((skuId) => ({ skuId, skuPartNumber: names.get(skuId.toLowerCase()) ?? null }));
}

export const userListItemSchema = z
  .object({
    id: z.string(),
    userPrincipalName: z.string(),
    sipAddress: z.string(),
    displayName: z.string().nullable(),
    accountType: z.string().nullable().meta({ description: "The manual's User Type." }),
    department: z.string().nullable(),
    usageLocation: z.string().nullable(),
    businessPhones: z.array(z.string()),
    mobilePhone: z.string().nullable(),
    accountEnabled: z.boolean().nullable(),
    enterpriseVoiceEnabled: z.boolean(),
    lineUri: z.string().nullable(),
    onlineVoiceRoutingPolicy: z.string().nullable(),
    tenantDialPlan: z.string().nullable(),
    onlinePstnGateway: z.string().nullable().meta({
      description: "Derived: the user's voice routing policy → PSTN usage → voice route → gateway.",
    }),
    siteLocation: z.string().nullable().meta({ description: "Derived: the gateway FQDN's first label." }),
    template: z
      .string()
      .nullable()
      .meta({ description: 'The user template last applied to the user (by name); null when none was.' }),
    licenses: z.array(licenseSchema),
    pendingChanges: z.boolean().meta({ description: 'Queued changes not yet applied.' }),
  })
  .meta({ id: 'UserListItem' });

export const usersListSchema = z
  .object({
    customerId: z.string(),
    lastSyncAt: z.iso.datetime().nullable(),
    lastSyncText: z.string(),
    message: z.string().nullable(),
    value: z.array(userListItemSchema),
    nextLink: nextLinkSchema,
  })
  .meta({ id: 'UserPage' });

const policySchema = z.object({
  type: z.enum(USER_POLICY_TYPE_IDS),
  label: z.string(),
  teamsType: z.string(),
  value: z.string().meta({ description: 'The effective policy: its name, or Global for the default.' }),
});

export const userDetailsSchema = z
  .object({
    id: z.string(),
    lastSyncAt: z.iso.datetime().nullable(),
    general: z.object({
      displayName: z.string().nullable(),
      userPrincipalName: z.string(),
      sipAddress: z.string(),
      accountType: z.string().nullable(),
      accountEnabled: z.boolean().nullable(),
    }),
    location: z.object({ department: z.string().nullable(), usageLocation: z.string().nullable() }),
    licenses: z.array(licenseSchema),
    telephony: z.object({
      lineUri: z.string().nullable(),
      numberType: z.enum(['direct-routing']).nullable().meta({
        description: 'direct-routing for a Line URI (the only kind this product assigns); null without one.',
      }),
      enterpriseVoiceEnabled: z.boolean(),
      telephoneNumbers: z.array(z.string()),
      businessPhones: z.array(z.string()),
      mobilePhone: z.string().nullable(),
      onlinePstnGateway: z.string().nullable(),
      siteLocation: z.string().nullable(),
    }),
    policies: z
      .array(policySchema)
      .meta({ description: 'Every policy type the product grants, effective value.' }),
    groups: z.array(z.object({ id: z.string(), displayName: z.string().nullable() })),
    template: z.string().nullable(),
    pendingChanges: z.array(pendingChangeSchema).meta({
      description:
        'Pending changes: the queued changes not yet applied, in applying order (as `…/pending-changes`). The ' +
        'telephony and policies above are what the tenant has until they are applied.',
    }),
    audit: z
      .object({
        value: z.array(userAuditEntrySchema).meta({
          description: `The user's latest ${RECENT_AUDIT_ENTRIES} audit entries at most, newest first.`,
        }),
        link: z.string().meta({
          format: 'uri-reference',
          description: "The user's whole audit, paged (`top`, `cursor`).",
        }),
        nextLink: nextLinkSchema.meta({
          description: 'The audit entries after these, paged; null when these are all.',
        }),
      })
      .meta({ description: "The user's audit trail: each applied change with its old and new values." }),
  })
  .meta({ id: 'UserDetails' });

export const userParamsShape = {
  userId: z
    .string()
    .regex(/^[0-9a-fA-F-]{36}$/, 'userId is a user object id (a GUID).')
    .meta({ description: 'The user object id.' }),
};

export interface UsersViewDeps extends Pick<CustomerMirrorDeps, 'replication'> {
  readonly customers: Pick<CustomerService, 'get'>;
  readonly mirror: Pick<
    MirrorStore,
    'indexPage' | 'voiceObjects' | 'getUserVersion' | 'groupsOfUser' | 'skus'
  >;
  /** The user's pending changes and audit, for the details. */
  readonly userChanges: Pick<UserChangeService, 'pendingChanges' | 'userAudit'>;
  /** The customer's user templates' names by id. */
  readonly templateNames: (customerId: string) => Promise<ReadonlyMap<string, string>>;
}

/** The HTTP ETag of a mirrored user: its row's content hash (what a PATCH's If-Match names). */
export function userEtagOf(hash: string): string {
  return `"${hash}"`;
}

/** The most rows one export holds: beyond it, filter the list (the export says so in its last line). */
export const EXPORT_MAX_ROWS = 100_000;

const CSV_COLUMNS = [
  ['Type', (u: ListItem) => u.accountType],
  ['Display Name', (u: ListItem) => u.displayName],
  ['SIP Address', (u: ListItem) => u.sipAddress],
  ['UPN', (u: ListItem) => u.userPrincipalName],
  ['Line URI', (u: ListItem) => u.lineUri],
  ['Template', (u: ListItem) => u.template],
  ['Department', (u: ListItem) => u.department],
  ['Online Voice Routing Policy', (u: ListItem) => u.onlineVoiceRoutingPolicy],
  ['Online PSTN Gateway', (u: ListItem) => u.onlinePstnGateway],
  ['Site Location', (u: ListItem) => u.siteLocation],
  ['Usage Location', (u: ListItem) => u.usageLocation],
  ['EnterpriseVoiceEnabled', (u: ListItem) => (u.enterpriseVoiceEnabled ? 'Yes' : 'No')],
  ['Licenses', (u: ListItem) => u.licenses.map((l) => l.skuPartNumber ?? l.skuId).join(' ')],
  ['Pending Changes', (u: ListItem) => (u.pendingChanges ? 'Yes' : 'No')],
] as const;

type ListItem = z.output<typeof userListItemSchema>;

export function usersView(deps: UsersViewDeps) {
  const { mirror } = deps;

  /** Reads one page of the index for the filter; `gatewayOf` is computed once per request. */
  const readPage = async (
    customerId: string,
    filter: UsersFilter,
    tenant: TenantViews,
    top: number,
    cursor?: IndexCursor,
  ): Promise<{ items: IndexedUser[]; next: IndexCursor | null }> => {
    const where: Condition[] = [];
    if (filter.template !== undefined) {
      const wanted = filter.template.toLowerCase();
      const id = [...tenant.templates].find(([, name]) => name.toLowerCase() === wanted)?.[0];
      // No such template: no user has it.
      if (id === undefined) return { items: [], next: null };
      where.push(['tpl', 'eq', id]);
    }
    if (filter.hasNumber !== undefined) where.push(['hasNumber', 'eq', filter.hasNumber]);
    if (filter.enterpriseVoice !== undefined) where.push(['ev', 'eq', filter.enterpriseVoice]);
    if (filter.licensed !== undefined) where.push(['licensed', 'eq', filter.licensed]);
    if (filter.pending !== undefined) where.push(['pending', 'eq', filter.pending]);
    if (filter.voiceRoutingPolicy !== undefined) {
      where.push(['vrp', 'eq', policyKey(filter.voiceRoutingPolicy)]);
    }
    const search = filter.search === undefined ? null : searchTerms(filter.search);
    if (search) {
      const [first, ...rest] = search;
      return mirror.indexPage(customerId, {
        family: 'search',
        prefix: first,
        where,
        top,
        ...(cursor ? { cursor } : {}),
        keep: (user) => {
          const words = searchWords(user);
          const matched = user.rowKey.slice(0, user.rowKey.indexOf(KEY_SEPARATOR));
          // One row per user: the first of its words the first term starts, as the index orders them.
          return (
            words.find((w) => w.startsWith(first)) === matched &&
            rest.every((term) => words.some((w) => w.startsWith(term)))
          );
        },
      });
    }
    return mirror.indexPage(customerId, {
      family: filter.sort ?? 'display-name',
      where,
      top,
      ...(cursor ? { cursor } : {}),
    });
  };

  const tenantViews = async (customerId: string): Promise<TenantViews> => {
    const [voice, skus, templates] = await Promise.all([
      mirror.voiceObjects(customerId),
      mirror.skus(customerId),
      deps.templateNames(customerId),
    ]);
    return { gatewayOf: routingOf(voice), licensesOf: licensesNamer(skus), templates };
  };

  const checkFilter = (filter: UsersFilter) => {
    if (filter.search !== undefined && filter.sort !== undefined) {
      throw domainErrors.validation([
        {
          field: 'sort',
          in: 'query',
          code: 'sort_with_search',
          message:
            'sort cannot be combined with search: search results come in the order of the matching word.',
        },
      ]);
    }
    if (filter.search !== undefined && searchTerms(filter.search) === null) {
      throw domainErrors.validation([
        {
          field: 'search',
          in: 'query',
          code: 'search_without_words',
          message: 'search holds no letters or digits to look for.',
        },
      ]);
    }
  };

  return {
    async list(customerId: string, query: z.output<typeof usersListQuery>, url: string) {
      checkFilter(query);
      await customerWithUsers(deps.customers, customerId);
      const cursor = query.cursor === undefined ? undefined : (JSON.parse(query.cursor) as IndexCursor);
      const [head, tenant] = await Promise.all([mirrorHeader(deps, customerId), tenantViews(customerId)]);
      const page = await readPage(customerId, query, tenant, query.top, cursor);
      const { cursor: _current, ...rest } = query;
      return {
        ...head,
        value: page.items.map((user) => listItem(user, tenant)),
        nextLink: nextLinkOf(new URL(url).pathname, rest, page.next ? JSON.stringify(page.next) : null),
      };
    },

    /** The list's columns as CSV, every page of the filter; cells a spreadsheet would run are neutralised. */
    async exportCsv(customerId: string, filter: UsersFilter): Promise<string> {
      checkFilter(filter);
      await customerWithUsers(deps.customers, customerId);
      const tenant = await tenantViews(customerId);
      const lines: string[] = [csvStringify().stringify([CSV_COLUMNS.map(([name]) => name)])];
      let cursor: IndexCursor | undefined;
      let count = 0;
      do {
        const page = await readPage(customerId, filter, tenant, 1000, cursor);
        const records = page.items.map((user) => {
          const item = listItem(user, tenant);
          return CSV_COLUMNS.map(([, value]) => spreadsheetSafe(value(item) ?? ''));
        });
        if (records.length > 0) lines.push(csvStringify().stringify(records));
        count += records.length;
        cursor = page.next ?? undefined;
      } while (cursor && count < EXPORT_MAX_ROWS);
      return lines.join('');
    },

    async details(customerId: string, userId: string) {
      await customerWithUsers(deps.customers, customerId);
      const id = userId.toLowerCase();
      const found = await mirror.getUserVersion(customerId, id);
      if (!found) throw domainErrors.notFound(`"${customerId}" has no replicated user ${userId}.`);
      const [head, { gatewayOf, licensesOf, templates }, groups, pendingChanges, audit] = await Promise.all([
        mirrorHeader(deps, customerId),
        tenantViews(customerId),
        mirror.groupsOfUser(customerId, id),
        deps.userChanges.pendingChanges(customerId, id),
        deps.userChanges.userAudit(customerId, id, RECENT_AUDIT_ENTRIES),
      ]);
      const auditPath = userAuditPath(customerId, id);
      const { user } = found;
      const gateway = gatewayOf(user.policies.OnlineVoiceRoutingPolicy ?? 'Global');
      const body: z.output<typeof userDetailsSchema> = {
        id: user.id,
        lastSyncAt: head.lastSyncAt,
        general: {
          displayName: user.displayName,
          userPrincipalName: user.userPrincipalName,
          sipAddress: `sip:${user.userPrincipalName}`,
          accountType: user.accountType,
          accountEnabled: user.accountEnabled,
        },
        location: { department: user.department, usageLocation: user.usageLocation },
        licenses: licensesOf(user.assignedLicenses),
        telephony: {
          lineUri: user.lineUri,
          numberType: user.lineUri ? 'direct-routing' : null,
          enterpriseVoiceEnabled: user.enterpriseVoiceEnabled,
          telephoneNumbers: [...user.telephoneNumbers],
          businessPhones: [...user.businessPhones],
          mobilePhone: user.mobilePhone,
          onlinePstnGateway: gateway,
          siteLocation: siteOf(gateway),
        },
        policies: USER_POLICY_TYPE_IDS.map((type) => ({
          type,
          label: USER_POLICY_TYPES[type].label,
          teamsType: USER_POLICY_TYPES[type].teamsType,
          value: user.policies[USER_POLICY_TYPES[type].teamsType] ?? 'Global',
        })),
        groups: groups.map((g) => ({ id: g.id, displayName: g.displayName })),
        template: found.template === null ? null : (templates.get(found.template) ?? null),
        pendingChanges,
        audit: {
          value: audit.entries.map((entry) => ({ ...entry, fields: [...entry.fields] })),
          link: auditPath,
          nextLink: nextLinkOf(auditPath, { top: RECENT_AUDIT_ENTRIES }, audit.next),
        },
      };
      return { body, etag: userEtagOf(found.hash) };
    },
  };
}

/**
 * The search's terms as index words: a number typed with `+`, spaces, dashes or brackets is one run of digits;
 * otherwise each word, folded like the index's. Null when nothing is left to look for.
 */
export function searchTerms(search: string): [string, ...string[]] | null {
  const terms = /^[\d\s+().-]+$/.test(search)
    ? [search.replace(/\D/g, '')]
    : search.split(/[\s,;()"]+/).map(keyPart);
  const [first, ...rest] = terms.filter((t) => t.length > 0);
  return first === undefined ? null : [first, ...rest];
}

function siteOf(gateway: string | null): string | null {
  return gateway ? (gateway.split('.')[0] ?? null) : null;
}

function listItem(user: IndexedUser, { gatewayOf, licensesOf, templates }: TenantViews): ListItem {
  const gateway = gatewayOf(user.voiceRoutingPolicy ?? 'Global');
  return {
    id: user.id,
    userPrincipalName: user.userPrincipalName,
    sipAddress: `sip:${user.userPrincipalName}`,
    displayName: user.displayName,
    accountType: user.accountType,
    department: user.department,
    usageLocation: user.usageLocation,
    businessPhones: [...user.businessPhones],
    mobilePhone: user.mobilePhone,
    accountEnabled: user.accountEnabled,
    enterpriseVoiceEnabled: user.enterpriseVoiceEnabled,
    lineUri: user.lineUri,
    onlineVoiceRoutingPolicy: user.voiceRoutingPolicy,
    tenantDialPlan: user.tenantDialPlan,
    onlinePstnGateway: gateway,
    siteLocation: siteOf(gateway),
    template: user.template === null ? null : (templates.get(user.template) ?? null),
    licenses: licensesOf(user.assignedLicenses),
    pendingChanges: user.pending,
  };
}

/**
 * A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab / carriage return before one) gets a
 * leading apostrophe (OWASP's CSV injection advice); a Line URI keeps its `tel:+…` form, which starts with a letter.
 */
export function spreadsheetSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
