import { z } from 'zod';
import type { Principal } from '../shared/auth/authenticator.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams, describedDryRunQuery, ifMatchOf } from '../shared/http/route-kit.js';
import { nextLinkOf, pageOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { TaskRecord } from '../shared/tasks/task-record.js';
import { domainErrors } from '../shared/errors/domain-errors.js';
import {
  actionOf,
  fieldChanges,
  isRuleList,
  stateOf,
  VOICE_KINDS,
  type VoiceConfig,
  voiceEtag,
  type VoiceKind,
  type VoiceObjectChange,
  type VoiceState,
  type VoiceValue,
} from '../shared/voice/voice-change.js';
import type { VoiceChangeService, VoicePlan } from '../shared/voice/voice-change-service.js';
import {
  normalizationRuleSchema,
  voiceValueSchema,
  VOICE_AUDIT_ENTRY_ID,
  VOICE_AUDIT_STATUSES,
  type VoiceAuditEntry,
} from '../shared/voice/voice-change-store.js';
import { taskViewSchema, toTaskView } from './tasks.js';

/**
 * Day two's Online Voice Routing (issue 13, manual-part-D §1.12–1.16, §3.9): a customer's PSTN usages, voice routes,
 * online voice routing policies and tenant dial plans, read from the mirror and changed through queued Teams commands, each with a
 * dry run, the voice audit and rollback. Granting a policy to a user is a user change (PATCH …/users/{userId}).
 */

const TAGS = ['Voice routing'];
/** The Customer portal's Online Voice Routing menu (Hosted Essentials + and Hosted Pro): customer admins too. */
const ROLES = ['provider-admin', 'customer-admin'] as const;
const BASE = 'api/v1/customers/{customerId}/voice';

/** A Teams object name: what the cmdlets' -Identity takes, without a path separator or a control character. */
const objectName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[^/\\?#\p{Cc}]+$/u, 'A name has no /, \\, ?, # or control character.');

const names = z.array(objectName).max(64);

const usageParams = customerParams.extend({ usage: objectName.meta({ description: 'The PSTN usage.' }) });
const routeParams = customerParams.extend({
  routeId: objectName.meta({ description: "The route's Identity." }),
});
const policyParams = customerParams.extend({
  policyId: objectName.meta({ description: "The policy's Identity, without `Tag:`." }),
});
const entryParams = customerParams.extend({
  voiceEntryId: z
    .string()
    .regex(VOICE_AUDIT_ENTRY_ID, 'voiceEntryId is a voice audit entry id.')
    .meta({ description: "The entry's `id` in the voice audit." }),
});

const dryRun = describedDryRunQuery('Only answer the commands and the changes per property; queue nothing.');

const usageView = z
  .object({
    name: z.string(),
    routes: z.array(z.string()).meta({ description: 'The voice routes that list the usage.' }),
    policies: z.array(z.string()).meta({ description: 'The voice routing policies that list it.' }),
  })
  .meta({ id: 'PstnUsage' });

const routeView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    numberPattern: z.string().nullable(),
    priority: z.number().int(),
    gateways: z.array(z.string()),
    usages: z.array(z.string()),
    etag: z.string(),
  })
  .meta({ id: 'VoiceRoute' });

const policyView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    usages: z.array(z.string()).meta({ description: 'Tried in this order.' }),
    etag: z.string(),
  })
  .meta({ id: 'VoiceRoutingPolicy' });

const ruleView = normalizationRuleSchema.meta({ id: 'NormalizationRule' });

const dialPlanView = z
  .object({
    identity: z.string(),
    description: z.string().nullable(),
    simpleName: z.string().nullable(),
    externalAccessPrefix: z.string().nullable(),
    normalizationRules: z.array(ruleView).meta({ description: 'Tried top to bottom; the first match wins.' }),
    etag: z.string(),
  })
  .meta({ id: 'TenantDialPlan' });

const ruleBody = z.strictObject({
  name: objectName,
  pattern: z
    .string()
    .min(1)
    .max(1024)
    .meta({ description: 'A .NET regular expression of the dialed digits.', example: '^0(\\d{10})$' }),
  translation: z
    .string()
    .max(1024)
    .meta({ description: 'The normalized number, with $1 … for the groups.', example: '+44$1' }),
  isInternalExtension: z.boolean().default(false),
  description: z.string().max(1024).default(''),
});
const dialPlanFields = {
  description: z.string().max(1024).default(''),
  simpleName: z.string().max(256).nullable().default(null),
  externalAccessPrefix: z
    .string()
    .regex(/^[0-9*#]{1,4}$/, 'An external access prefix is up to four digits, * or #.')
    .nullable()
    .default(null),
  normalizationRules: z.array(ruleBody).max(50).meta({ description: 'In the order Teams tries them.' }),
};
const dialPlanCreate = z.strictObject({ identity: objectName, ...dialPlanFields });
const dialPlanUpdate = z.strictObject(dialPlanFields);
const dialPlanParams = customerParams.extend({
  dialPlanId: objectName.meta({ description: "The dial plan's Identity, without `Tag:`." }),
});

const routeFields = {
  description: z.string().max(1024).default(''),
  numberPattern: z.string().min(1).max(1024).meta({
    description: 'A regular expression of the dialed number (E.164 after normalization).',
    example: '^\\+1(\\d{10})$',
  }),
  priority: z.number().int().min(0).max(2_147_483_647),
  gateways: names.meta({ description: 'The PSTN gateways (their FQDN), tried in order.' }),
  usages: names.meta({ description: 'The PSTN usages the route belongs to.' }),
};
const routeCreate = z.strictObject({ identity: objectName, ...routeFields });
const routeUpdate = z.strictObject(routeFields);
const routeReorder = z.strictObject({
  routes: names.min(1).meta({
    description:
      "Every voice route's Identity, first tried first: their priorities become 0, 1, 2 … in this order.",
  }),
});

const policyFields = {
  description: z.string().max(1024).default(''),
  usages: names.meta({ description: 'The PSTN usages, tried in this order.' }),
};
const policyCreate = z.strictObject({ identity: objectName, ...policyFields });
const policyUpdate = z.strictObject(policyFields);
const usageCreate = z.strictObject({ name: objectName });

const voiceValue = voiceValueSchema;
const planSchema = z
  .object({
    objects: z.array(
      z.object({
        kind: z.enum(VOICE_KINDS),
        identity: z.string(),
        action: z.enum(['create', 'update', 'delete']),
        fields: z.array(z.object({ property: z.string(), oldValue: voiceValue, newValue: voiceValue })),
      }),
    ),
    commands: z.array(z.string()).meta({ description: 'The PowerShell of each Teams command, in order.' }),
  })
  .meta({ id: 'VoiceChangePlan' });

const resultSchema = z
  .object({
    plan: planSchema,
    task: taskViewSchema
      .nullable()
      .meta({ description: 'The queued task; null for a dry run or no change.' }),
  })
  .meta({ id: 'VoiceChangeResult' });

const auditEntrySchema = z
  .object({
    id: z.string(),
    customerId: z.string(),
    initiatedBy: z.string(),
    taskId: z.string(),
    status: z.enum(VOICE_AUDIT_STATUSES),
    createdAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
    error: z.string().nullable(),
    rollbackOf: z.string().nullable(),
    objects: planSchema.shape.objects,
  })
  .meta({ id: 'VoiceAuditEntry' });

const WRITE_RESPONSES = {
  200: { description: 'The dry run (or nothing to change): what would be done.', schema: resultSchema },
  202: {
    description: 'Queued; the task at Location applies it.',
    schema: resultSchema,
    headers: ['location' as const],
  },
};

const WRITE_ERRORS = {
  validation:
    'Teams would refuse it: `pattern_invalid`, `translation_invalid`, `gateway_unknown`, `gateway_disabled`, `usage_unknown`, `priority_taken`, `name_taken`, `duplicate` per field.',
  conflict:
    'Still referenced (`voice_object_in_use`, naming the references), or the customer is Hosted Essentials (`no_m365_for_essentials`).',
  not_found: 'No such customer or object (as of the last replication).',
};

const text = (value: VoiceValue | undefined) => (typeof value === 'string' ? value : null);
const list = (value: VoiceValue | undefined) =>
  Array.isArray(value) ? [...(value as readonly string[])] : [];

const READ_ERRORS = {
  conflict: 'The customer is Hosted Essentials: it has no Online Voice Routing (`no_m365_for_essentials`).',
};

const initiator = (principal: Principal | null) => principal?.name ?? principal?.subject ?? 'an operator';

export interface VoiceObjectFunctionsDeps extends ApiEdge {
  readonly voiceChanges: VoiceChangeService;
}

/** A page of a list read whole from the mirror (a tenant's voice objects are hundreds at most), by `keyOf`. */
function paged<T>(
  request: { readonly url: string },
  query: { readonly top: number; readonly cursor?: string | undefined },
  items: readonly T[],
  keyOf: (item: T) => string,
): ApiResult {
  const page = pageOf(items, keyOf, query);
  return {
    status: 200,
    body: {
      value: page.items,
      nextLink: nextLinkOf(new URL(request.url).pathname, { top: query.top }, page.nextKey),
    },
  };
}

export function createVoiceObjectFunctions(services: VoiceObjectFunctionsDeps): FunctionDefinition[] {
  const { voiceChanges } = services;

  const answer = ({ plan, task }: { plan: VoicePlan; task: TaskRecord | null }): ApiResult =>
    task
      ? {
          status: 202,
          headers: { location: `/api/v1/tasks/${task.id}` },
          body: { plan, task: toTaskView(task) },
        }
      : { status: 200, body: { plan, task: null } };

  async function submit(
    customerId: string,
    changes: readonly VoiceObjectChange[],
    dry: boolean,
    principal: Principal | null,
  ): Promise<ApiResult> {
    return answer(
      await voiceChanges.submit(customerId, changes, { dryRun: dry, initiatedBy: initiator(principal) }),
    );
  }

  /** The change of an existing object (If-Match from the request, when it has one), or a new one's (`create`). */
  const change = (
    customerId: string,
    kind: VoiceKind,
    identity: string,
    after: VoiceState | null,
    how: 'create' | { readonly request?: Parameters<typeof ifMatchOf>[0] },
  ) => {
    const ifMatch = how !== 'create' && how.request ? ifMatchOf(how.request) : undefined;
    return voiceChanges.changeTo(customerId, kind, identity, after, {
      create: how === 'create',
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
  };

  const routeOf = (cfg: VoiceConfig, identity: string) => {
    const found = cfg.find('voice-routes', identity);
    if (!found) return null;
    const state = stateOf('voice-routes', found.data);
    return {
      identity: found.identity,
      description: text(state.description),
      numberPattern: text(state.numberPattern),
      priority: Number(state.priority ?? 0),
      gateways: list(state.gateways),
      usages: list(state.usages),
      etag: voiceEtag(found.data),
    };
  };
  const policyOf = (cfg: VoiceConfig, identity: string) => {
    const found = cfg.find('voice-routing-policies', identity);
    if (!found) return null;
    const state = stateOf('voice-routing-policies', found.data);
    return {
      identity: found.identity.replace(/^tag:/i, ''),
      description: text(state.description),
      usages: list(state.usages),
      etag: voiceEtag(found.data),
    };
  };
  const dialPlanOf = (cfg: VoiceConfig, identity: string) => {
    const found = cfg.find('dial-plans', identity);
    if (!found) return null;
    const state = stateOf('dial-plans', found.data);
    return {
      identity: found.identity.replace(/^tag:/i, ''),
      description: text(state.description),
      simpleName: text(state.simpleName),
      externalAccessPrefix: text(state.externalAccessPrefix),
      normalizationRules: isRuleList(state.normalizationRules) ? [...state.normalizationRules] : [],
      etag: voiceEtag(found.data),
    };
  };
  const single = (view: { etag: string } | null, what: string): ApiResult => {
    if (!view) throw domainErrors.notFound(what);
    return { status: 200, headers: { etag: view.etag }, body: view };
  };

  const auditView = (entry: VoiceAuditEntry) => {
    const { changes, ...rest } = entry;
    return {
      ...rest,
      objects: changes.map((c) => ({
        kind: c.kind,
        identity: c.identity,
        action: actionOf(c),
        fields: fieldChanges(c),
      })),
    };
  };

  return [
    defineApiRoute(services, {
      name: 'voice-pstn-usages-list',
      method: 'GET',
      route: `${BASE}/pstn-usages`,
      summary:
        'Manage Pstn Usage: the tenant-wide usage list, with the routes and policies that name each usage',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: { description: 'A page of usages, by name.', schema: pageSchema(usageView, 'PstnUsagePage') },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query, request }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const naming = (policyName: string, usage: string) =>
          cfg
            .of(policyName)
            .filter((o) =>
              ((o.data.OnlinePstnUsages as string[] | undefined) ?? []).some(
                (u) => u.toLowerCase() === usage.toLowerCase(),
              ),
            )
            .map((o) => o.identity.replace(/^tag:/i, ''));
        return paged(
          request,
          query,
          cfg.usages().map((name) => ({
            name,
            routes: naming('OnlineVoiceRoute', name),
            policies: naming('OnlineVoiceRoutingPolicy', name),
          })),
          (usage) => usage.name.toLowerCase(),
        );
      },
    }),
    defineApiRoute(services, {
      name: 'voice-pstn-usages-create',
      method: 'POST',
      route: `${BASE}/pstn-usages`,
      summary: 'New Usage: add a PSTN usage to the tenant-wide list (queued: Set-CsOnlinePstnUsage)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: usageCreate,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'pstn-usages', body.name, {}, 'create')],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-pstn-usages-delete',
      method: 'DELETE',
      route: `${BASE}/pstn-usages/{usage}`,
      summary: 'Delete Usage: refused while a route or a policy names it (queued: Set-CsOnlinePstnUsage)',
      tags: TAGS,
      roles: ROLES,
      params: usageParams,
      query: dryRun,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'pstn-usages', params.usage, null, {})],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-routes-list',
      method: 'GET',
      route: `${BASE}/voice-routes`,
      summary: 'Voice routes, by priority (the order Teams tries them in)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of routes, by priority.',
          schema: pageSchema(routeView, 'VoiceRoutePage'),
        },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query, request }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const routes = cfg
          .names('voice-routes')
          .map((name) => routeOf(cfg, name))
          .filter((route) => route !== null);
        // Priority first (the order Teams tries them in), padded so that keys sort as numbers do.
        return paged(
          request,
          query,
          routes,
          (r) => `${String(r.priority).padStart(10, '0')}|${r.identity.toLowerCase()}`,
        );
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routes-get',
      method: 'GET',
      route: `${BASE}/voice-routes/{routeId}`,
      summary: 'One voice route, with its ETag',
      tags: TAGS,
      roles: ROLES,
      params: routeParams,
      responses: { 200: { description: 'The route.', schema: routeView, headers: ['etag'] } },
      errors: { ...READ_ERRORS, not_found: 'No such route (as of the last replication).' },
      handler: async ({ params }) =>
        single(
          routeOf(await voiceChanges.config(params.customerId), params.routeId),
          `${params.customerId} has no voice route "${params.routeId}".`,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-routes-create',
      method: 'POST',
      route: `${BASE}/voice-routes`,
      summary: 'Add new Voice Route (queued: New-CsOnlineVoiceRoute)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: routeCreate,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) => {
        const { identity, ...after } = body;
        return submit(
          params.customerId,
          [await change(params.customerId, 'voice-routes', identity, after, 'create')],
          query.dryRun,
          principal,
        );
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routes-update',
      method: 'PUT',
      route: `${BASE}/voice-routes/{routeId}`,
      summary: 'Edit a voice route: pattern, priority, gateways, usages (queued: Set-CsOnlineVoiceRoute)',
      tags: TAGS,
      roles: ROLES,
      params: routeParams,
      query: dryRun,
      body: routeUpdate,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, request, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'voice-routes', params.routeId, body, { request })],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-routes-delete',
      method: 'DELETE',
      route: `${BASE}/voice-routes/{routeId}`,
      summary: 'Delete a voice route (queued: Remove-CsOnlineVoiceRoute)',
      tags: TAGS,
      roles: ROLES,
      params: routeParams,
      query: dryRun,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, request, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'voice-routes', params.routeId, null, { request })],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-routes-reorder',
      method: 'POST',
      route: `${BASE}/voice-routes/reorder`,
      summary: "The green arrows: set every route's priority by its place in the list (one queued task)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: routeReorder,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const all = cfg.names('voice-routes');
        const listed = body.routes.map((r) => r.toLowerCase());
        const missing = all.filter((name) => !listed.includes(name.toLowerCase()));
        const errors = [
          ...body.routes.flatMap((name, i) =>
            !all.some((n) => n.toLowerCase() === name.toLowerCase())
              ? [
                  {
                    field: `routes.${i}`,
                    code: 'route_unknown',
                    message: `There is no voice route "${name}".`,
                  },
                ]
              : listed.indexOf(name.toLowerCase()) !== i
                ? [{ field: `routes.${i}`, code: 'duplicate', message: `"${name}" is listed twice.` }]
                : [],
          ),
          ...(missing.length > 0
            ? [
                {
                  field: 'routes',
                  code: 'route_missing',
                  message: `List every route; missing: ${missing.join(', ')}.`,
                },
              ]
            : []),
        ];
        if (errors.length > 0)
          throw domainErrors.validation(errors.map((e) => ({ ...e, in: 'body' as const })));
        const changes: VoiceObjectChange[] = body.routes.flatMap((name, priority) => {
          const found = cfg.find('voice-routes', name);
          const before = found ? stateOf('voice-routes', found.data) : null;
          if (!found || before === null || before.priority === priority) return [];
          return [
            {
              kind: 'voice-routes' as const,
              identity: found.identity,
              before,
              after: { ...before, priority },
            },
          ];
        });
        return submit(params.customerId, changes, query.dryRun, principal);
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policies-list',
      method: 'GET',
      route: `${BASE}/voice-routing-policies`,
      summary: 'Online voice routing policies (Global and the per-user ones), with their usages in order',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of policies, by identity.',
          schema: pageSchema(policyView, 'VoiceRoutingPolicyPage'),
        },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query, request }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const policies = cfg
          .names('voice-routing-policies')
          .map((name) => policyOf(cfg, name))
          .filter((policy) => policy !== null);
        return paged(request, query, policies, (p) => p.identity.toLowerCase());
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policies-get',
      method: 'GET',
      route: `${BASE}/voice-routing-policies/{policyId}`,
      summary: 'One online voice routing policy, with its ETag',
      tags: TAGS,
      roles: ROLES,
      params: policyParams,
      responses: { 200: { description: 'The policy.', schema: policyView, headers: ['etag'] } },
      errors: { ...READ_ERRORS, not_found: 'No such policy (as of the last replication).' },
      handler: async ({ params }) =>
        single(
          policyOf(await voiceChanges.config(params.customerId), params.policyId),
          `${params.customerId} has no voice routing policy "${params.policyId}".`,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policies-create',
      method: 'POST',
      route: `${BASE}/voice-routing-policies`,
      summary: 'Add New Voice Routing Policy (queued: New-CsOnlineVoiceRoutingPolicy)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: policyCreate,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) => {
        const { identity, ...after } = body;
        return submit(
          params.customerId,
          [await change(params.customerId, 'voice-routing-policies', identity, after, 'create')],
          query.dryRun,
          principal,
        );
      },
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policies-update',
      method: 'PUT',
      route: `${BASE}/voice-routing-policies/{policyId}`,
      summary:
        'Edit Voice Routing Policy: description and usages in order (queued: Set-CsOnlineVoiceRoutingPolicy)',
      tags: TAGS,
      roles: ROLES,
      params: policyParams,
      query: dryRun,
      body: policyUpdate,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, request, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'voice-routing-policies', params.policyId, body, { request })],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-routing-policies-delete',
      method: 'DELETE',
      route: `${BASE}/voice-routing-policies/{policyId}`,
      summary:
        'Delete Voice Routing Policy: refused while users are granted it (queued: Remove-CsOnlineVoiceRoutingPolicy)',
      tags: TAGS,
      roles: ROLES,
      params: policyParams,
      query: dryRun,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, request, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'voice-routing-policies', params.policyId, null, { request })],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-dial-plans-list',
      method: 'GET',
      route: `${BASE}/dial-plans`,
      summary: 'Tenant dial plans (Global and the per-user ones) with their ordered normalization rules',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of dial plans, by identity.',
          schema: pageSchema(dialPlanView, 'TenantDialPlanPage'),
        },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query, request }) => {
        const cfg = await voiceChanges.config(params.customerId);
        const plans = cfg
          .names('dial-plans')
          .map((name) => dialPlanOf(cfg, name))
          .filter((plan) => plan !== null);
        return paged(request, query, plans, (p) => p.identity.toLowerCase());
      },
    }),
    defineApiRoute(services, {
      name: 'voice-dial-plans-get',
      method: 'GET',
      route: `${BASE}/dial-plans/{dialPlanId}`,
      summary: 'One tenant dial plan, with its ETag',
      tags: TAGS,
      roles: ROLES,
      params: dialPlanParams,
      responses: { 200: { description: 'The dial plan.', schema: dialPlanView, headers: ['etag'] } },
      errors: { ...READ_ERRORS, not_found: 'No such dial plan (as of the last replication).' },
      handler: async ({ params }) =>
        single(
          dialPlanOf(await voiceChanges.config(params.customerId), params.dialPlanId),
          `${params.customerId} has no tenant dial plan "${params.dialPlanId}".`,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-dial-plans-create',
      method: 'POST',
      route: `${BASE}/dial-plans`,
      summary: 'Add new Dial Plan with its normalization rules (queued: New-CsTenantDialPlan)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: dryRun,
      body: dialPlanCreate,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, principal }) => {
        const { identity, ...after } = body;
        return submit(
          params.customerId,
          [await change(params.customerId, 'dial-plans', identity, after, 'create')],
          query.dryRun,
          principal,
        );
      },
    }),
    defineApiRoute(services, {
      name: 'voice-dial-plans-update',
      method: 'PUT',
      route: `${BASE}/dial-plans/{dialPlanId}`,
      summary: 'Edit Dial Plan: its fields and its rules in order (queued: Set-CsTenantDialPlan)',
      tags: TAGS,
      roles: ROLES,
      params: dialPlanParams,
      query: dryRun,
      body: dialPlanUpdate,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, body, request, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'dial-plans', params.dialPlanId, body, { request })],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-dial-plans-delete',
      method: 'DELETE',
      route: `${BASE}/dial-plans/{dialPlanId}`,
      summary: 'Delete a dial plan: refused while users are granted it (queued: Remove-CsTenantDialPlan)',
      tags: TAGS,
      roles: ROLES,
      params: dialPlanParams,
      query: dryRun,
      ifMatch: true,
      responses: WRITE_RESPONSES,
      errors: WRITE_ERRORS,
      handler: async ({ params, query, request, principal }) =>
        submit(
          params.customerId,
          [await change(params.customerId, 'dial-plans', params.dialPlanId, null, { request })],
          query.dryRun,
          principal,
        ),
    }),
    defineApiRoute(services, {
      name: 'voice-audit',
      method: 'GET',
      route: `${BASE}/audit`,
      summary: 'The voice audit: each queued voice change with old and new per property (newest first)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery((key) => /^a~/.test(key)),
      responses: {
        200: { description: 'A page of entries.', schema: pageSchema(auditEntrySchema, 'VoiceAuditPage') },
      },
      errors: READ_ERRORS,
      handler: async ({ params, query }) => {
        const page = await voiceChanges.audit(params.customerId, query.top, query.cursor);
        return {
          status: 200,
          body: {
            value: page.entries.map(auditView),
            nextLink: nextLinkOf(
              `/api/v1/customers/${params.customerId}/voice/audit`,
              { top: query.top },
              page.next,
            ),
          },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'voice-audit-rollback',
      method: 'POST',
      route: `${BASE}/audit/{voiceEntryId}/rollback`,
      summary: 'Roll back a voice change: queues every object it changed back to its state before',
      tags: TAGS,
      roles: ROLES,
      params: entryParams,
      query: dryRun,
      responses: WRITE_RESPONSES,
      errors: {
        ...WRITE_ERRORS,
        conflict: `${WRITE_ERRORS.conflict} Or the object moved since the entry (\`audit_field_moved\`), or the entry was not processed (\`audit_field_not_applied\`).`,
      },
      handler: async ({ params, query, principal }) =>
        answer(
          await voiceChanges.rollback(params.customerId, params.voiceEntryId, {
            dryRun: query.dryRun,
            initiatedBy: initiator(principal),
          }),
        ),
    }),
  ];
}
