import { z } from 'zod';
import type { Principal } from '../shared/auth/authenticator.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerIdParam, customerParams, ifMatchOf, versioned } from '../shared/http/route-kit.js';
import {
  BINDING_LIMITS,
  bindingIdSchema,
  bindingInputSchema,
  bindingMoveSchema,
  bindingViewSchema,
  PASS_CHANGE_KINDS,
} from '../shared/lifecycle/lifecycle-binding.js';
import type { BindingsAnswer, LifecycleService } from '../shared/lifecycle/lifecycle-service.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { NO_M365_USERS_DOC } from '../shared/users/user-access.js';
import { changeSchema } from './user-imports.js';

const TAGS = ['Lifecycle management'];
/** The manual's Lifecycle Management page is the customer's own admins' as well as the provider's. */
const ROLES = ['provider-admin', 'customer-admin'] as const;
const BASE = 'api/v1/customers/{customerId}/lifecycle';
const BINDINGS = `${BASE}/bindings`;
const BINDING = `${BINDINGS}/{bindingId}`;

const bindingParams = z.strictObject({ customerId: customerIdParam, bindingId: bindingIdSchema });
const bindingListSchema = z
  .object({ value: z.array(bindingViewSchema).meta({ description: 'In rank order.' }) })
  .meta({ id: 'LifecycleBindingList' });

const passSchema = z
  .object({
    passId: z.string(),
    at: z.iso.datetime(),
    joined: z
      .number()
      .int()
      .meta({ description: 'Users given their template (with a number where it gives one).' }),
    changed: z.number().int().meta({ description: "Users whose template's policies were enforced again." }),
    left: z
      .number()
      .int()
      .meta({ description: 'Users who left their groups and whose template was taken back.' }),
    refused: z
      .number()
      .int()
      .meta({ description: "Users the pass could not provision (see the bindings' Error)." }),
    overrides: z.number().int().meta({ description: 'Users left as an operator changed them by hand.' }),
    imports: z
      .array(z.string())
      .meta({ description: 'The user imports the pass queued (…/user-imports/{id}).' }),
  })
  .meta({ id: 'LifecyclePass' });

const previewSchema = z
  .object({
    joins: z.number().int(),
    changes: z.number().int(),
    leaves: z.number().int(),
    overrides: z.number().int(),
    users: z.array(
      z.object({
        userId: z.string(),
        userPrincipalName: z.string().nullable(),
        kind: z.enum(PASS_CHANGE_KINDS).meta({
          description:
            '`join`: joins a binding (its template, and a number); `change`: another binding wins, or the template or ' +
            'the directory number changed; `leave`: left the groups, and the binding says remove; `override`: ' +
            'changed by hand since, left alone.',
        }),
        bindingId: z.string(),
        rank: z.number().int().nullable(),
        templateId: z.number().int(),
        templateName: z.string().nullable(),
        changes: z
          .array(changeSchema)
          .meta({ description: 'Each field that would change: old (before) → new.' }),
        problem: z
          .string()
          .nullable()
          .meta({ description: 'Why the user would be refused (e.g. no license left).' }),
      }),
    ),
  })
  .meta({ id: 'LifecyclePreview' });

const actor = (principal: Principal | null) => principal?.name ?? principal?.subject ?? 'unknown';

const ERRORS = {
  conflict:
    `${NO_M365_USERS_DOC} A template the customer does not have (\`template_invalid\`), a group replication has ` +
    'not found (`binding_group_unknown`).',
  validation:
    '`validation_failed`: no group, a group twice, more than 10 groups, a quarantine over 365 days.',
};

export type LifecycleFunctionsDeps = ApiEdge & { readonly lifecycle: LifecycleService };

export function createLifecycleFunctions(services: LifecycleFunctionsDeps): FunctionDefinition[] {
  const { lifecycle } = services;
  const listResult = (status: number, answer: BindingsAnswer) =>
    versioned(answer.etag, { status, body: { value: answer.bindings } });
  return [
    defineApiRoute(services, {
      name: 'lifecycle-bindings-list',
      method: 'GET',
      route: BINDINGS,
      summary: 'The security-group bindings (Lifecycle Management), in rank order',
      description:
        'Rank 1 has the highest priority: a user in the groups of several bindings gets the template of the lowest ' +
        'rank they match (a member of all its groups). After every replication cycle the lifecycle pass gives each ' +
        "user their binding's template and queues only the differences. The list's ETag guards every change of it.",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: { 200: { description: 'The bindings.', schema: bindingListSchema, headers: ['etag'] } },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params }) => listResult(200, await lifecycle.list(params.customerId)),
    }),
    defineApiRoute(services, {
      name: 'lifecycle-bindings-create',
      method: 'POST',
      route: BINDINGS,
      summary: 'Bind a user template to security groups (Add new); it gets the next rank',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: bindingInputSchema,
      responses: {
        201: { description: 'The binding.', schema: bindingViewSchema, headers: ['etag', 'location'] },
      },
      errors: {
        ...ERRORS,
        limit_reached: `\`binding_limit_reached\`: the customer has ${BINDING_LIMITS.perCustomer} bindings.`,
      },
      handler: async ({ params, body, principal, request }) => {
        const created = await lifecycle.create(params.customerId, body, actor(principal));
        return versioned(created.etag, {
          status: 201,
          body: created.binding,
          headers: { location: `${new URL(request.url).pathname}/${created.binding.id}` },
        });
      },
    }),
    defineApiRoute(services, {
      name: 'lifecycle-bindings-update',
      method: 'PUT',
      route: BINDING,
      summary: "Change a binding's template, groups or leave action; the next pass re-evaluates its users",
      tags: TAGS,
      roles: ROLES,
      params: bindingParams,
      body: bindingInputSchema,
      ifMatch: true,
      responses: { 200: { description: 'Saved.', schema: bindingViewSchema, headers: ['etag'] } },
      errors: ERRORS,
      handler: async ({ params, body, request }) => {
        const updated = await lifecycle.update(params.customerId, params.bindingId, body, ifMatchOf(request));
        return versioned(updated.etag, { status: 200, body: updated.binding });
      },
    }),
    defineApiRoute(services, {
      name: 'lifecycle-bindings-move',
      method: 'POST',
      route: `${BINDING}/move`,
      summary:
        "Move a binding to another rank (the manual's arrow keys); the next pass re-evaluates every user",
      tags: TAGS,
      roles: ROLES,
      params: bindingParams,
      body: bindingMoveSchema,
      ifMatch: true,
      responses: {
        200: { description: 'The bindings, reordered.', schema: bindingListSchema, headers: ['etag'] },
      },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params, body, request }) =>
        listResult(
          200,
          await lifecycle.move(params.customerId, params.bindingId, body.rank, ifMatchOf(request)),
        ),
    }),
    defineApiRoute(services, {
      name: 'lifecycle-bindings-delete',
      method: 'DELETE',
      route: BINDING,
      summary: 'Delete a binding; its users are handled by the next pass as leavers, as the binding said',
      tags: TAGS,
      roles: ROLES,
      params: bindingParams,
      ifMatch: true,
      responses: { 204: { description: 'Deleted.' } },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params, request }) => {
        await lifecycle.remove(params.customerId, params.bindingId, ifMatchOf(request));
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'lifecycle-preview',
      method: 'GET',
      route: `${BASE}/preview`,
      summary: 'What the next lifecycle pass would change: users, fields, old → new; nothing is queued',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: z.object({
        top: z.coerce
          .number({ error: 'top is a whole number.' })
          .int('top is a whole number.')
          .min(1, 'top is at least 1.')
          .max(1000, 'top is at most 1000.')
          .default(100)
          .meta({ description: 'Users listed with their changes (the counts cover all of them).' }),
      }),
      responses: { 200: { description: 'The preview.', schema: previewSchema } },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params, query }) => ({
        status: 200,
        body: await lifecycle.preview(params.customerId, query.top),
      }),
    }),
    defineApiRoute(services, {
      name: 'lifecycle-last-pass',
      method: 'GET',
      route: `${BASE}/last-pass`,
      summary: 'What the last lifecycle pass did, and the imports it queued',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: {
        200: { description: 'The last pass.', schema: passSchema },
        204: { description: 'No pass has run yet.' },
      },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params }) => {
        const pass = await lifecycle.lastPass(params.customerId);
        return pass ? { status: 200, body: pass } : { status: 204 };
      },
    }),
  ];
}
