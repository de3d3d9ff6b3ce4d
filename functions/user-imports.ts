import { z } from 'zod';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams, customerIdParam, describedDryRunQuery } from '../shared/http/route-kit.js';
import { listPage, newestFirstKey, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { TaskRecord } from '../shared/tasks/task-record.js';
import {
  allowedHeaders,
  CLEAR_KEYWORD,
  GLOBAL_POLICY,
  IMPORT_LIMITS,
  type ImportPlan,
} from '../shared/users/bulk-import.js';
import { importState, type UserImportService } from '../shared/users/bulk-import-service.js';
import type { UserImport } from '../shared/users/bulk-import-store.js';
import { USER_POLICY_TYPE_IDS } from '../shared/users/user-change.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Users'];
/** Customer admins change their own users (issue 11 item 8): declared, not derived from GET. */
const ROLES = ['provider-admin', 'customer-admin'] as const;
const IMPORTS = 'api/v1/customers/{customerId}/user-imports';

const importParams = z.strictObject({
  customerId: customerIdParam,
  importId: z.uuid().meta({ description: 'The import, as its POST answered it.' }),
});

const rowErrorSchema = z
  .object({
    row: z.number().int().meta({ description: 'The row as a spreadsheet counts it: the header is row 1.' }),
    column: z
      .string()
      .nullable()
      .meta({ description: 'The header as the file spells it; null for the row.' }),
    code: z
      .string()
      .meta({ description: 'Stable: invalid_value, user_not_found, apply_failed, or the engine’s.' }),
    message: z.string(),
  })
  .meta({ id: 'UserImportRowError' });

export const changeSchema = z
  .object({
    field: z.enum(['line-uri', 'enterprise-voice', 'usage-location', 'policy']),
    policyType: z.enum(USER_POLICY_TYPE_IDS).optional(),
    value: z
      .union([z.string(), z.boolean()])
      .nullable()
      .meta({
        description: `The new value; null unassigns the number, clears the usage location or grants ${GLOBAL_POLICY}.`,
      }),
    before: z.union([z.string(), z.boolean()]).nullable().meta({ description: 'What the mirror has now.' }),
  })
  .meta({ id: 'UserImportChange' });

const errorsFields = {
  errors: z
    .array(rowErrorSchema)
    .meta({ description: `The first ${IMPORT_LIMITS.reportedErrors} problems.` }),
  errorCount: z.number().int().meta({ description: 'Every problem, reported or not.' }),
};

export const dryRunSchema = z
  .object({
    rowsTotal: z.number().int(),
    rowsToChange: z.number().int(),
    rowsUnchanged: z.number().int(),
    rowsInvalid: z.number().int(),
    changes: z.array(
      z.object({
        row: z.number().int(),
        userId: z.string(),
        userPrincipalName: z.string(),
        changes: z.array(changeSchema),
      }),
    ),
    ...errorsFields,
  })
  .meta({ id: 'UserImportDryRun' });

export const importSchema = z
  .object({
    id: z.string(),
    customerId: z.string(),
    state: z.enum(['queued', 'running', 'completed', 'failed']).meta({
      description: 'failed: the task ended before every row was applied (see the task).',
    }),
    createdAt: z.string().meta({ format: 'date-time' }),
    createdBy: z.string(),
    completedAt: z.string().meta({ format: 'date-time' }).nullable(),
    taskId: z.string().nullable(),
    task: z
      .string()
      .meta({ format: 'uri-reference' })
      .nullable()
      .meta({ description: 'The task to follow.' }),
    result: z.string().meta({ format: 'uri-reference', description: 'The result CSV.' }),
    rowsTotal: z.number().int(),
    rowsToChange: z.number().int(),
    rowsUnchanged: z.number().int(),
    rowsInvalid: z.number().int(),
    rowsApplied: z.number().int(),
    rowsFailed: z.number().int().meta({ description: 'Invalid rows and rows the tenant refused.' }),
    rowsDone: z.number().int().meta({ description: 'Rows finished so far: applied, unchanged or failed.' }),
    ...errorsFields,
  })
  .meta({ id: 'UserImport' });

type ImportView = z.output<typeof importSchema>;

export function importView(value: UserImport, task: TaskRecord | null): ImportView {
  const path = `/${IMPORTS.replace('{customerId}', encodeURIComponent(value.customerId))}/${value.id}`;
  return {
    id: value.id,
    customerId: value.customerId,
    state: importState(value, task),
    createdAt: value.createdAt,
    createdBy: value.createdBy,
    completedAt: value.completedAt,
    taskId: value.taskId,
    task: value.taskId ? `/api/v1/tasks/${value.taskId}` : null,
    result: `${path}/result.csv`,
    rowsTotal: value.rowsTotal,
    rowsToChange: value.rowsToChange,
    rowsUnchanged: value.rowsUnchanged,
    rowsInvalid: value.rowsInvalid,
    rowsApplied: value.rowsApplied,
    rowsFailed: value.rowsFailed,
    rowsDone: value.rowsUnchanged + value.rowsApplied + value.rowsFailed,
    errors: [...value.errors],
    errorCount: value.errorCount,
  };
}

export function dryRunView(plan: ImportPlan): z.output<typeof dryRunSchema> {
  const count = (status: string) => plan.rows.filter((r) => r.status === status).length;
  return {
    rowsTotal: plan.rows.length,
    rowsToChange: count('change'),
    rowsUnchanged: count('unchanged'),
    rowsInvalid: count('invalid'),
    changes: plan.rows.flatMap((r) => {
      const planned = plan.planned.get(r.row);
      if (!planned || r.userId === null) return [];
      return [
        {
          row: r.row,
          userId: r.userId,
          userPrincipalName: r.userPrincipalName ?? '',
          changes: planned.map(({ change, before }) => ({ ...change, before })),
        },
      ];
    }),
    errors: [...plan.errors],
    errorCount: plan.errorCount,
  };
}

const DESCRIPTION =
  `A CSV (text/csv, UTF-8, at most ${IMPORT_LIMITS.maxBytes / (1024 * 1024)} MB and ${IMPORT_LIMITS.maxRows} data ` +
  `rows) with a header row. Columns, case-insensitive: User (UPN or object id, required), LineUri (tel:+E.164 ` +
  `with an optional ;ext=), EnterpriseVoice (true/false), UsageLocation (two letters), and one per policy type by ` +
  `its label or id (${allowedHeaders().slice(4).join(', ')}). An empty cell changes nothing; ${CLEAR_KEYWORD} ` +
  `unassigns the number or clears the usage location; ${GLOBAL_POLICY} grants a policy type's default. Any other ` +
  `header is refused. Rows already matching the mirror are unchanged and not sent.`;

export type UserImportFunctionsDeps = ApiEdge &
  Pick<AppServices, 'customers'> & { readonly userImports: UserImportService };

export function createUserImportFunctions(services: UserImportFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'user-imports-create',
      method: 'POST',
      route: IMPORTS,
      summary:
        'Import a CSV of user changes as one Office365 import task (or, dry run, list what it would change)',
      description: DESCRIPTION,
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: describedDryRunQuery(
        'Validate and list every change per row and the row errors; nothing is queued.',
      ),
      body: z.string().meta({ description: 'The CSV file.' }),
      textBody: { mediaType: 'text/csv', maxBytes: IMPORT_LIMITS.maxBytes },
      responses: {
        200: { description: 'The dry run: every change per row, and the row errors.', schema: dryRunSchema },
        202: {
          description: 'Queued; follow the import at Location (its task is linked).',
          schema: importSchema,
          headers: ['location'],
        },
      },
      errors: {
        conflict:
          'The customer has no Microsoft 365 users to change (no_m365_for_essentials) or its sign-in is not verified.',
        validation:
          'The file is not CSV (csv_malformed), its header is not an import’s (csv_header_invalid), or it has no rows (csv_no_rows).',
        too_large: `The file exceeds ${IMPORT_LIMITS.maxBytes / (1024 * 1024)} MB (payload_too_large) or ${IMPORT_LIMITS.maxRows} rows (csv_too_many_rows).`,
      },
      handler: async ({ params, query, body, principal }) => {
        await services.customers.get(params.customerId);
        if (query.dryRun) {
          return {
            status: 200,
            body: dryRunView(await services.userImports.dryRun(params.customerId, body)),
          };
        }
        const by = principal?.name ?? principal?.subject ?? 'unknown';
        const { value } = await services.userImports.start(params.customerId, body, by);
        const view = importView(value, null);
        return {
          status: 202,
          headers: { location: view.result.replace(/\/result\.csv$/, '') },
          body: view,
        };
      },
    }),
    defineApiRoute(services, {
      name: 'user-imports-list',
      method: 'GET',
      route: IMPORTS,
      summary: "The customer's user imports, newest first",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: pagingQuery(),
      responses: {
        200: { description: 'A page of imports.', schema: pageSchema(importSchema, 'UserImportPage') },
      },
      handler: async ({ params, query, request }) => {
        await services.customers.get(params.customerId);
        const imports = (await services.userImports.list(params.customerId)).map(({ value, task }) =>
          importView(value, task),
        );
        return {
          status: 200,
          body: listPage(imports, (v) => newestFirstKey(v.createdAt, v.id), query, request.url),
        };
      },
    }),
    defineApiRoute(services, {
      name: 'user-imports-get',
      method: 'GET',
      route: `${IMPORTS}/{importId}`,
      summary: 'A user import: its state and progress (rows total, done, failed) and its errors',
      tags: TAGS,
      roles: ROLES,
      params: importParams,
      responses: { 200: { description: 'The import.', schema: importSchema } },
      handler: async ({ params }) => {
        const { value, task } = await services.userImports.get(params.customerId, params.importId);
        return { status: 200, body: importView(value, task) };
      },
    }),
    defineApiRoute(services, {
      name: 'user-imports-result',
      method: 'GET',
      route: `${IMPORTS}/{importId}/result.csv`,
      summary:
        "A user import's result: the input rows with an Error column (empty when applied or unchanged)",
      description:
        "Values starting with =, +, -, @, a tab or a carriage return are written behind a ' so a spreadsheet shows them as text.",
      tags: TAGS,
      roles: ROLES,
      params: importParams,
      responses: {
        200: { description: 'The result file.', schema: z.string(), mediaType: 'text/csv' },
      },
      handler: async ({ params }) => ({
        status: 200,
        contentType: 'text/csv',
        headers: { 'content-disposition': `attachment; filename="user-import-${params.importId}.csv"` },
        body: await services.userImports.resultCsv(params.customerId, params.importId),
      }),
    }),
  ];
}
