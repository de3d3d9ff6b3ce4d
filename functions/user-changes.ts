import { z } from 'zod';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams, ifMatchOf } from '../shared/http/route-kit.js';
import { nextLinkOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import type { Principal } from '../shared/auth/authenticator.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { TaskRecord } from '../shared/tasks/task-record.js';
import { isUsageLocation, LINE_URI_RULE, normalizeLineUri } from '../shared/users/line-uri.js';
import type { NumberGuard } from '../shared/users/ports.js';
import { USER_POLICY_TYPE_IDS, USER_POLICY_TYPES, type UserChange } from '../shared/users/user-change.js';
import type { PendingChange, UserChangeService } from '../shared/users/user-change-service.js';
import { AUDIT_ENTRY_ID, type UserAuditEntry } from '../shared/users/user-change-store.js';
import {
  pendingChangeSchema,
  userAuditEntrySchema,
  userAuditPath,
} from '../shared/users/user-change-views.js';
import { taskViewSchema, toTaskView } from './tasks.js';

const TAGS = ['User changes'];
const READ = ['provider-admin'] as const;
/** Customer admins change their own customer's users (manual-part-D §6: Users view/edit, Assign Phone Numbers). */
const WRITE = ['provider-admin', 'customer-admin'] as const;
const BASE = 'api/v1/customers/{customerId}';

const userParams = customerParams.extend({
  userId: z
    .string()
    .regex(/^[0-9a-fA-F-]{36}$/, 'userId is a user object id.')
    .transform((id) => id.toLowerCase())
    .meta({ description: "The user's object id." }),
});

const lineUri = z
  .string()
  .max(64)
  .transform((text, ctx) => {
    const normalized = normalizeLineUri(text);
    if (normalized === null) {
      ctx.addIssue({ code: 'custom', message: `${text}: ${LINE_URI_RULE}.` });
      return z.NEVER;
    }
    return normalized;
  })
  .meta({ description: `E.164 with an optional extension; ${LINE_URI_RULE}.`, example: 'tel:+390810902003' });

const usageLocation = z
  .string()
  .transform((code) => code.toUpperCase())
  .refine(isUsageLocation, 'usageLocation is an ISO 3166-1 alpha-2 country code (e.g. GB, IT, US).');

/** A policy's name without `Tag:`; `Global` or null grants the org-wide default. */
const policyName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .transform((name) => name.replace(/^tag:/i, ''))
  .nullable()
  .transform((name) => (name === null || name.toLowerCase() === 'global' ? null : name));

const patchBody = z
  .strictObject({
    lineUri: lineUri.nullable().optional().meta({ description: 'The phone number; null unassigns it.' }),
    enterpriseVoiceEnabled: z.boolean().optional(),
    usageLocation: usageLocation.nullable().optional(),
    policies: z
      .partialRecord(z.enum(USER_POLICY_TYPE_IDS), policyName)
      .optional()
      .meta({
        description: `Policies to grant, by type (${USER_POLICY_TYPE_IDS.map((id) => `\`${id}\`: ${USER_POLICY_TYPES[id].label}`).join(', ')}); null or "Global" grants the org-wide default.`,
      }),
  })
  .refine(
    (body) =>
      body.lineUri !== undefined ||
      body.enterpriseVoiceEnabled !== undefined ||
      body.usageLocation !== undefined ||
      Object.keys(body.policies ?? {}).length > 0,
    'Name at least one change.',
  );

const assignBody = z
  .strictObject({
    lineUri: lineUri.optional(),
    rangeId: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .meta({ description: 'Assign the next free number of this range.' }),
    voiceRoutingPolicy: policyName
      .optional()
      .meta({ description: 'Also grant this Online Voice Routing Policy (omitted: do not change it).' }),
  })
  .refine(
    (body) => (body.lineUri === undefined) !== (body.rangeId === undefined),
    'Give either lineUri or rangeId.',
  );

const queuedSchema = z
  .object({
    task: taskViewSchema,
    pendingChanges: z.array(pendingChangeSchema).meta({ description: "The user's changes not yet applied." }),
  })
  .meta({ id: 'QueuedUserChanges' });

const auditQuery = pagingQuery((key) => /^[au]~/.test(key));
const auditPage = pageSchema(userAuditEntrySchema, 'UserAuditPage');

const rollbackParams = customerParams.extend({
  entryId: z.string().regex(AUDIT_ENTRY_ID, 'entryId is a user-change audit entry id.'),
});
const rollbackBody = z.strictObject({
  fields: z
    .array(z.string().min(1).max(64))
    .min(1, 'Select at least one field to roll back.')
    .max(32)
    .meta({ description: 'The entry\'s fields to restore (their `field`), e.g. ["line-uri"].' }),
});

const accepted202 = {
  202: {
    description: 'Queued; the task at Location applies it.',
    schema: queuedSchema,
    headers: ['location' as const],
  },
};

const CHANGE_ERRORS = {
  conflict:
    'Not queued: the number is used by another user (`number_in_use`), reserved (`number_reserved`) or outside every range (`number_outside_ranges`), the policy does not exist (`user_policy_unknown`), or the customer is Hosted Essentials (`no_m365_for_essentials`). The user is not licensed and the customer has no license left (`license_exhausted`: Licensed Users and the Grace Interval in use).',
};

function patchChanges(body: z.output<typeof patchBody>): UserChange[] {
  const changes: UserChange[] = [];
  if (body.usageLocation !== undefined) changes.push({ field: 'usage-location', value: body.usageLocation });
  for (const type of USER_POLICY_TYPE_IDS) {
    const value = body.policies?.[type];
    if (value !== undefined) changes.push({ field: 'policy', policyType: type, value });
  }
  if (body.enterpriseVoiceEnabled !== undefined) {
    changes.push({ field: 'enterprise-voice', value: body.enterpriseVoiceEnabled });
  }
  if (body.lineUri !== undefined) changes.push({ field: 'line-uri', value: body.lineUri });
  return changes;
}

const initiator = (principal: Principal | null) => principal?.name ?? principal?.subject ?? 'an operator';

export interface UserChangeFunctionsDeps extends ApiEdge {
  readonly userChanges: UserChangeService;
  readonly numberGuard: NumberGuard;
}

export function createUserChangeFunctions(services: UserChangeFunctionsDeps): FunctionDefinition[] {
  const { userChanges } = services;

  async function queued(customerId: string, userId: string, task: TaskRecord): Promise<ApiResult> {
    const pendingChanges: PendingChange[] = await userChanges.pendingChanges(customerId, userId);
    return {
      status: 202,
      headers: { location: `/api/v1/tasks/${task.id}` },
      body: { task: toTaskView(task), pendingChanges },
    };
  }

  /** Queues a user's changes as the caller asked (If-Match when sent) and answers 202 with the pending changes. */
  async function queueFor(
    { customerId, userId }: { customerId: string; userId: string },
    changes: readonly UserChange[],
    request: Parameters<typeof ifMatchOf>[0],
    principal: Principal | null,
  ): Promise<ApiResult> {
    const ifMatch = ifMatchOf(request);
    const task = await userChanges.queue(customerId, userId, changes, {
      initiatedBy: initiator(principal),
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
    return queued(customerId, userId, task);
  }

  const auditPageOf = (
    path: string,
    top: number,
    page: { entries: UserAuditEntry[]; next: string | null },
  ): ApiResult => ({
    status: 200,
    body: { value: page.entries, nextLink: nextLinkOf(path, { top }, page.next) },
  });

  return [
    defineApiRoute(services, {
      name: 'users-update',
      method: 'PATCH',
      route: `${BASE}/users/{userId}`,
      summary:
        "Change a user's number, Enterprise Voice, usage location or policies: checked, then queued as an Office365 task",
      description:
        "Changes of the same user within a short window, or while its task has not started, join one task (later values win per field). If-Match is the user's ETag (its mirror row); without it the last writer wins.",
      tags: TAGS,
      roles: WRITE,
      params: userParams,
      body: patchBody,
      ifMatch: true,
      responses: accepted202,
      errors: CHANGE_ERRORS,
      handler: async ({ params, body, request, principal }) =>
        queueFor(params, patchChanges(body), request, principal),
    }),
    defineApiRoute(services, {
      name: 'users-assign-number',
      method: 'POST',
      route: `${BASE}/users/{userId}/assign-number`,
      summary:
        'Assign Phone Number: a given number or the next free one of a range, with Enterprise Voice on (and a voice routing policy)',
      tags: TAGS,
      roles: WRITE,
      params: userParams,
      body: assignBody,
      ifMatch: true,
      responses: accepted202,
      errors: { ...CHANGE_ERRORS, not_found: 'No such user or range.' },
      handler: async ({ params, body, request, principal }) => {
        const number =
          body.lineUri ?? (await services.numberGuard.nextFree(params.customerId, body.rangeId ?? ''));
        const changes: UserChange[] = [
          { field: 'enterprise-voice', value: true },
          { field: 'line-uri', value: number },
        ];
        if (body.voiceRoutingPolicy !== undefined) {
          changes.push({ field: 'policy', policyType: 'voice-routing', value: body.voiceRoutingPolicy });
        }
        return queueFor(params, changes, request, principal);
      },
    }),
    defineApiRoute(services, {
      name: 'users-unassign-number',
      method: 'POST',
      route: `${BASE}/users/{userId}/unassign-number`,
      summary: "Remove a user's phone number (queued)",
      tags: TAGS,
      roles: WRITE,
      params: userParams,
      ifMatch: true,
      responses: accepted202,
      errors: CHANGE_ERRORS,
      handler: async ({ params, request, principal }) =>
        queueFor(params, [{ field: 'line-uri', value: null }], request, principal),
    }),
    defineApiRoute(services, {
      name: 'users-pending-changes',
      method: 'GET',
      route: `${BASE}/users/{userId}/pending-changes`,
      summary: "Pending changes: the user's queued commands not yet applied, with their PowerShell",
      tags: TAGS,
      roles: READ,
      params: userParams,
      responses: {
        200: {
          description: 'The pending changes, in applying order.',
          schema: z.object({ value: z.array(pendingChangeSchema) }),
        },
      },
      handler: async ({ params }) => ({
        status: 200,
        body: { value: await userChanges.pendingChanges(params.customerId, params.userId) },
      }),
    }),
    defineApiRoute(services, {
      name: 'users-audit',
      method: 'GET',
      route: `${BASE}/users/{userId}/audit`,
      summary: "The user's Audit: each applied change with its fields' old and new values (newest first)",
      tags: TAGS,
      roles: READ,
      params: userParams,
      query: auditQuery,
      responses: { 200: { description: 'A page of entries.', schema: auditPage } },
      handler: async ({ params, query }) =>
        auditPageOf(
          userAuditPath(params.customerId, params.userId),
          query.top,
          await userChanges.userAudit(params.customerId, params.userId, query.top, query.cursor),
        ),
    }),
    defineApiRoute(services, {
      name: 'audit-user-changes',
      method: 'GET',
      route: `${BASE}/audit/user-changes`,
      summary:
        "Audit: every change made to the customer's users (Date, Target, InitiatedBy, Status; newest first)",
      tags: TAGS,
      roles: READ,
      params: customerParams,
      query: auditQuery,
      responses: { 200: { description: 'A page of entries.', schema: auditPage } },
      handler: async ({ params, query }) =>
        auditPageOf(
          `/api/v1/customers/${params.customerId}/audit/user-changes`,
          query.top,
          await userChanges.customerAudit(params.customerId, query.top, query.cursor),
        ),
    }),
    defineApiRoute(services, {
      name: 'audit-user-change-rollback',
      method: 'POST',
      route: `${BASE}/audit/{entryId}/rollback`,
      summary:
        'Roll back selected fields of a user-change audit entry: queues the change back to their old values',
      tags: TAGS,
      roles: WRITE,
      params: rollbackParams,
      body: rollbackBody,
      responses: accepted202,
      errors: {
        ...CHANGE_ERRORS,
        conflict: `${CHANGE_ERRORS.conflict} Or the field moved since the entry (\`audit_field_moved\`), was not applied (\`audit_field_not_applied\`) or is not in the entry (\`audit_field_unknown\`).`,
      },
      handler: async ({ params, body, principal }) => {
        const { task, entry } = await userChanges.rollback(
          params.customerId,
          params.entryId,
          body.fields,
          initiator(principal),
        );
        return queued(params.customerId, entry.userId, task);
      },
    }),
  ];
}
