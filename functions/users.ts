import { z } from 'zod';
import { defineApiRoute, type ApiEdge } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { NO_M365_USERS_DOC } from '../shared/users/user-access.js';
import {
  userDetailsSchema,
  userParamsShape,
  usersExportQuery,
  usersListQuery,
  usersListSchema,
  usersView,
} from '../shared/users/users-view.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Users'];
// Customer-scoped: channel admins of the customer's channel and (reading) its customer admins too.
const ROLES = ['provider-admin'] as const;
const BASE = 'api/v1/customers/{customerId}/users';

export type UserFunctionsDeps = ApiEdge &
  Pick<AppServices, 'customers' | 'mirror' | 'replication' | 'userChanges' | 'userTemplates'>;

export function createUserFunctions(services: UserFunctionsDeps): FunctionDefinition[] {
  const users = usersView({
    ...services,
    templateNames: (customerId) => services.userTemplates.names(customerId),
  });
  return [
    defineApiRoute(services, {
      name: 'users-list',
      method: 'GET',
      route: BASE,
      summary:
        'The Users list: search, filters, sorting and paging over the replicated users, with Last sync at',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: usersListQuery,
      responses: { 200: { description: 'One page of users.', schema: usersListSchema } },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params, query, request }) => ({
        status: 200,
        body: await users.list(params.customerId, query, request.url),
      }),
    }),
    defineApiRoute(services, {
      name: 'users-export',
      method: 'GET',
      route: `${BASE}/export`,
      summary: "The Users list as CSV: the list's columns, every user the filters keep",
      description:
        'Cells a spreadsheet would run as a formula (starting with =, +, -, @) are prefixed with an apostrophe.',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: usersExportQuery,
      responses: {
        200: {
          description: 'The users as CSV (UTF-8, a header row).',
          schema: z.string(),
          mediaType: 'text/csv',
        },
      },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params, query }) => ({
        status: 200,
        contentType: 'text/csv',
        headers: { 'content-disposition': `attachment; filename="users-${params.customerId}.csv"` },
        body: await users.exportCsv(params.customerId, query),
      }),
    }),
    defineApiRoute(services, {
      name: 'users-get',
      method: 'GET',
      route: `${BASE}/{userId}`,
      summary:
        "A user's details: general, location, licenses, Teams telephony, policies, groups, template, pending changes and the latest audit entries",
      description: "The ETag is the mirrored user's version: send it as If-Match when changing the user.",
      tags: TAGS,
      roles: ROLES,
      params: customerParams.extend(userParamsShape),
      responses: {
        200: { description: 'The user.', schema: userDetailsSchema, headers: ['etag'] },
      },
      errors: { conflict: NO_M365_USERS_DOC },
      handler: async ({ params }) => {
        const { body, etag } = await users.details(params.customerId, params.userId);
        return { status: 200, headers: { etag }, body };
      },
    }),
  ];
}
