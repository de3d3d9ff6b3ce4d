import { z } from 'zod';
import type { Principal } from '../shared/auth/authenticator.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import {
  customerIdParam,
  customerParams,
  describedDryRunQuery,
  ifMatchOf,
  versioned,
} from '../shared/http/route-kit.js';
import {
  TEMPLATE_FILE_NUMBER_HEADERS,
  TEMPLATE_FILE_USER_HEADERS,
  templateIdSchema,
  templateInputSchema,
  templateViewSchema,
  type UserTemplateView,
} from '../shared/lifecycle/user-template.js';
import {
  type TemplateTarget,
  templateFileTargets,
  type UserTemplateService,
} from '../shared/lifecycle/user-template-service.js';
import { lineUriSchema } from '../shared/numbers/tel.js';
import { nextLinkOf, pageOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { IMPORT_LIMITS } from '../shared/users/bulk-import.js';
import { NO_M365_USERS_DOC } from '../shared/users/user-access.js';
import { dryRunSchema, dryRunView, importSchema, importView } from './user-imports.js';

const TAGS = ['User templates'];
/** The manual's Customer portal has Manage Templates for the customer's own admins too. */
const ROLES = ['provider-admin', 'customer-admin'] as const;
const TEMPLATES = 'api/v1/customers/{customerId}/user-templates';
const TEMPLATE = `${TEMPLATES}/{userTemplateId}`;

const templateParams = z.strictObject({ customerId: customerIdParam, userTemplateId: templateIdSchema });
const templateListSchema = pageSchema(templateViewSchema, 'UserTemplatePage');

const cloneSchema = z
  .strictObject({ name: templateInputSchema.shape.name })
  .meta({ id: 'UserTemplateClone' });

const applySchema = z
  .strictObject({
    users: z
      .array(
        z.strictObject({
          userId: z.string().min(1).max(256).meta({ description: "The user's Entra object id (or UPN)." }),
          lineUri: lineUriSchema
            .optional()
            .meta({ description: 'The number, for a template that assigns numbers from File.' }),
        }),
      )
      .min(1)
      .max(IMPORT_LIMITS.maxRows)
      .refine(
        (users) => new Set(users.map((u) => u.userId.toLowerCase())).size === users.length,
        'Each user once.',
      ),
  })
  .meta({ id: 'UserTemplateApply' });

const actor = (principal: Principal | null) => principal?.name ?? principal?.subject ?? 'unknown';

const ERRORS = {
  conflict: `${NO_M365_USERS_DOC} A policy the tenant does not have (\`user_policy_unknown\`), a range the customer does not have (\`template_range_unknown\`), a name taken (\`template_name_taken\`).`,
  validation:
    '`validation_failed`: e.g. Home or IpPhone as the number source, Clear Line URI with a number source, a range without `number-range`, a policy type twice.',
};

export type UserTemplateFunctionsDeps = ApiEdge & { readonly userTemplates: UserTemplateService };

export function createUserTemplateFunctions(services: UserTemplateFunctionsDeps): FunctionDefinition[] {
  const templates = services.userTemplates;
  /** The dry run (200) or the import it queued (202, Location), for the users of either body. */
  const applied = async (
    customerId: string,
    id: number,
    users: readonly TemplateTarget[],
    dryRun: boolean,
    by: string,
  ): Promise<ApiResult> => {
    if (dryRun) return { status: 200, body: dryRunView(await templates.dryRun(customerId, id, users)) };
    const view = importView(await templates.apply(customerId, id, users, by), null);
    return { status: 202, headers: { location: view.result.replace(/\/result\.csv$/, '') }, body: view };
  };
  const result = (status: number, { view, etag }: { view: UserTemplateView; etag: string }, headers = {}) =>
    versioned(etag, { status, body: view, headers });
  return [
    defineApiRoute(services, {
      name: 'user-templates-list',
      method: 'GET',
      route: TEMPLATES,
      summary: "The customer's user templates (Manage Templates), by Template Id",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: { 200: { description: 'A page of templates.', schema: templateListSchema } },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params, query, request }) => {
        const page = pageOf(
          (await templates.list(params.customerId)).map((t) => t.view),
          (t) => String(t.id).padStart(6, '0'),
          query,
        );
        return {
          status: 200,
          body: {
            value: page.items,
            nextLink: nextLinkOf(new URL(request.url).pathname, { top: query.top }, page.nextKey),
          },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'user-templates-create',
      method: 'POST',
      route: TEMPLATES,
      summary: 'Create a user template: its policies, Enterprise Voice and where numbers come from',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: templateInputSchema,
      responses: {
        201: { description: 'Created.', schema: templateViewSchema, headers: ['etag', 'location'] },
      },
      errors: { ...ERRORS, limit_reached: '`template_limit_reached`: the customer has 200 templates.' },
      handler: async ({ params, body, principal, request }) => {
        const created = await templates.create(params.customerId, body, actor(principal));
        return result(201, created, { location: `${new URL(request.url).pathname}/${created.view.id}` });
      },
    }),
    defineApiRoute(services, {
      name: 'user-templates-get',
      method: 'GET',
      route: TEMPLATE,
      summary: 'Get a user template',
      tags: TAGS,
      roles: ROLES,
      params: templateParams,
      responses: { 200: { description: 'The template.', schema: templateViewSchema, headers: ['etag'] } },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params }) =>
        result(200, await templates.get(params.customerId, params.userTemplateId)),
    }),
    defineApiRoute(services, {
      name: 'user-templates-update',
      method: 'PUT',
      route: TEMPLATE,
      summary: 'Change a user template (Submit All Changes); users it was applied to keep what they got',
      tags: TAGS,
      roles: ROLES,
      params: templateParams,
      body: templateInputSchema,
      ifMatch: true,
      responses: { 200: { description: 'Saved.', schema: templateViewSchema, headers: ['etag'] } },
      errors: ERRORS,
      handler: async ({ params, body, request }) =>
        result(
          200,
          await templates.update(params.customerId, params.userTemplateId, body, ifMatchOf(request)),
        ),
    }),
    defineApiRoute(services, {
      name: 'user-templates-delete',
      method: 'DELETE',
      route: TEMPLATE,
      summary: 'Delete a user template',
      tags: TAGS,
      roles: ROLES,
      params: templateParams,
      ifMatch: true,
      responses: { 204: { description: 'Deleted.' } },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params, request }) => {
        await templates.remove(params.customerId, params.userTemplateId, ifMatchOf(request));
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'user-templates-clone',
      method: 'POST',
      route: `${TEMPLATE}/clone`,
      summary: 'Clone a user template under a new name (Clone as)',
      tags: TAGS,
      roles: ROLES,
      params: templateParams,
      body: cloneSchema,
      responses: {
        201: { description: 'The clone.', schema: templateViewSchema, headers: ['etag', 'location'] },
      },
      errors: { ...ERRORS, limit_reached: '`template_limit_reached`.' },
      handler: async ({ params, body, principal, request }) => {
        const cloned = await templates.clone(
          params.customerId,
          params.userTemplateId,
          body.name,
          actor(principal),
        );
        const base = new URL(request.url).pathname.replace(/\/[^/]+\/clone$/, '');
        return result(201, cloned, { location: `${base}/${cloned.view.id}` });
      },
    }),
    defineApiRoute(services, {
      name: 'user-templates-apply',
      method: 'POST',
      route: `${TEMPLATE}/apply`,
      summary: 'Apply a user template to users: one user import task (or, dry run, every change per user)',
      description:
        'The template becomes a user import of the changes it makes each user (its policies, Enterprise Voice and ' +
        "number), with the import's checks, dry run, progress and result CSV. A number from a range goes to users " +
        'without one (a user who has a number keeps it); from Phone or Mobile it is the Entra ID attribute, which ' +
        'must be international (+ and the country code). A row the template cannot fill fails with `range_exhausted`, ' +
        "`number_source_empty` or `number_missing`, and a user past the customer's Licensed Users and Grace Interval " +
        'with `license_exhausted` (a user licensed already never); the others go on.',
      tags: TAGS,
      roles: ROLES,
      params: templateParams,
      query: describedDryRunQuery('List every change per user and the row errors; nothing is queued.'),
      body: applySchema,
      responses: {
        200: { description: 'The dry run.', schema: dryRunSchema },
        202: {
          description: 'Queued as a user import; follow it at Location.',
          schema: importSchema,
          headers: ['location'],
        },
      },
      errors: { conflict: `${NO_M365_USERS_DOC} The template's range is gone (\`template_range_unknown\`).` },
      handler: async ({ params, query, body, principal }) =>
        applied(params.customerId, params.userTemplateId, body.users, query.dryRun, actor(principal)),
    }),
    defineApiRoute(services, {
      name: 'user-templates-apply-file',
      method: 'POST',
      route: `${TEMPLATE}/apply-file`,
      summary: 'Apply a user template to the users of a template file (Import File, Apply Template)',
      description:
        "The manual's template file: a CSV (text/csv, UTF-8) with a user column (" +
        `${TEMPLATE_FILE_USER_HEADERS.join(', ')}: a SIP address with or without \`sip:\`, a UPN or an object id) and, ` +
        `for a template that assigns numbers from File, a number column (${TEMPLATE_FILE_NUMBER_HEADERS.join(', ')}). ` +
        'Then as `…/apply`: one user import, or with dryRun every change per user.',
      tags: TAGS,
      roles: ROLES,
      params: templateParams,
      query: describedDryRunQuery('List every change per user and the row errors; nothing is queued.'),
      body: z.string().meta({ description: 'The template file.' }),
      textBody: { mediaType: 'text/csv', maxBytes: IMPORT_LIMITS.maxBytes },
      responses: {
        200: { description: 'The dry run.', schema: dryRunSchema },
        202: {
          description: 'Queued as a user import; follow it at Location.',
          schema: importSchema,
          headers: ['location'],
        },
      },
      errors: {
        conflict: `${NO_M365_USERS_DOC} The template's range is gone (\`template_range_unknown\`).`,
        validation:
          'The file is not CSV (csv_malformed), names no user column (csv_header_invalid) or has no rows (csv_no_rows).',
        too_large: `The file exceeds ${IMPORT_LIMITS.maxBytes / (1024 * 1024)} MB (payload_too_large).`,
      },
      handler: async ({ params, query, body, principal }) =>
        applied(
          params.customerId,
          params.userTemplateId,
          templateFileTargets(body),
          query.dryRun,
          actor(principal),
        ),
    }),
  ];
}
