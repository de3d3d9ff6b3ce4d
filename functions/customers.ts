import { z } from 'zod';
import type { Customer } from '../shared/customers/customer.js';
import { createCustomerSchema, updateCustomerSchema } from '../shared/customers/customer.js';
import type { CustomerFilter } from '../shared/customers/customer-store.js';
import { searchWords } from '../shared/customers/search-words.js';
import {
  customerListSchema,
  customerStateSchema,
  customerViewSchema,
  licenseTypeSchema,
  toCustomerListView,
  toCustomerView,
} from '../shared/customers/customer-view.js';
import { SHORT_NAME_PATTERN } from '../shared/customers/short-name.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams, describedDryRunQuery, ifMatchOf, versioned } from '../shared/http/route-kit.js';
import { nextLinkOf, pagingQuery } from '../shared/paging/paging.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

const TAGS = ['Customers'];
const ROLES = ['provider-admin'] as const;
const COLLECTION = 'api/v1/customers';
const ITEM = 'api/v1/customers/{customerId}';

const listQuery = pagingQuery((key) => SHORT_NAME_PATTERN.test(key)).extend({
  search: z.string().trim().max(100, 'search can be at most 100 characters long.').optional().meta({
    description:
      'Words, each the start of a word of the Customer Name or Short Name, without regard to case or accents ("cont pha" finds "Contoso Pharma"); words are runs of letters and digits.',
  }),
  state: customerStateSchema.optional().meta({ description: 'Only customers in this State.' }),
  licenseType: licenseTypeSchema.optional().meta({ description: 'Only customers of this License Type.' }),
  channelId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'channelId is letters, digits, _ and -.')
    .optional()
    .meta({ description: "Only the channel's customers." }),
});

function filterOf(query: z.output<typeof listQuery>, keys?: ReadonlySet<string>): CustomerFilter {
  const words = query.search ? searchWords(query.search) : [];
  return {
    ...(query.state ? { state: query.state } : {}),
    ...(query.licenseType ? { licenseType: query.licenseType } : {}),
    ...(query.channelId ? { channelId: query.channelId } : {}),
    ...(words.length > 0 ? { words } : {}),
    ...(keys ? { keys } : {}),
  };
}

function withVersion(status: number, customer: Customer, headers: Record<string, string> = {}): ApiResult {
  return versioned(customer.etag, { status, body: toCustomerView(customer), headers });
}

export type CustomerFunctionsDeps = ApiEdge & Pick<AppServices, 'customers' | 'onboarding'>;

export function createCustomerFunctions(services: CustomerFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'customers-create',
      method: 'POST',
      route: COLLECTION,
      summary: "Add New Customer (the onboarding wizard's first page)",
      tags: TAGS,
      roles: ROLES,
      body: createCustomerSchema,
      responses: {
        201: {
          description: 'Created, in state `ready-for-deployment`.',
          schema: customerViewSchema,
          headers: ['etag', 'location'],
        },
      },
      errors: { conflict: 'Short Name taken, or no tenant or user license left.' },
      handler: async ({ body }) => {
        const customer = await services.customers.create(body);
        return {
          ...withVersion(201, customer, { location: `/${COLLECTION}/${encodeURIComponent(customer.id)}` }),
          customerId: customer.id,
        };
      },
    }),
    defineApiRoute(services, {
      name: 'customers-list',
      method: 'GET',
      route: COLLECTION,
      summary: 'List customers (the Tenants page) with the licenses still available',
      tags: TAGS,
      roles: ['provider-admin', 'channel-admin', 'customer-admin'],
      query: listQuery,
      responses: {
        200: {
          description:
            "One page of customers, ordered by Short Name (a channel's or customer admin's own only).",
          schema: customerListSchema,
        },
      },
      handler: async ({ query, scope }) => {
        const allowed = await scope();
        // Each customer's activity columns come with it from the same query: no read per row (docs/decisions.md).
        const page = await services.customers.list({
          top: query.top,
          filter: filterOf(query, allowed.kind === 'all' ? undefined : allowed.customerIds),
          ...(query.cursor ? { afterKey: query.cursor } : {}),
        });
        const next = nextLinkOf(
          `/${COLLECTION}`,
          {
            search: query.search,
            state: query.state,
            licenseType: query.licenseType,
            channelId: query.channelId,
            top: query.top,
          },
          page.nextKey,
        );
        return { status: 200, body: toCustomerListView(page, next) };
      },
    }),
    defineApiRoute(services, {
      name: 'customers-get',
      method: 'GET',
      route: ITEM,
      summary: 'Get a customer',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: {
        200: {
          description: 'The customer; its ETag header versions it.',
          schema: customerViewSchema,
          headers: ['etag'],
        },
      },
      handler: async ({ params }) => withVersion(200, await services.customers.get(params.customerId)),
    }),
    defineApiRoute(services, {
      name: 'customers-update',
      method: 'PATCH',
      route: ITEM,
      summary: "Edit a customer's Licensed Users",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: updateCustomerSchema,
      responses: { 200: { description: 'Updated.', schema: customerViewSchema, headers: ['etag'] } },
      errors: { conflict: 'Not enough user licenses, or the customer is being removed.' },
      ifMatch: true,
      handler: async ({ params, body, request }) => {
        const before = await services.customers.get(params.customerId);
        const after = await services.customers.updateLicensedUsers(
          params.customerId,
          body.licensedUsers,
          ifMatchOf(request),
        );
        return {
          ...withVersion(200, after),
          changes: { licensedUsers: { before: before.licensedUsers, after: after.licensedUsers } },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'customers-delete',
      method: 'DELETE',
      route: ITEM,
      summary:
        'Delete a customer: `ready-for-remove`, then TenantRemove runs the cleanup scripts and removes what onboarding made',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query: describedDryRunQuery('Only list what the removal would change; the customer stays as it is.'),
      responses: {
        202: {
          description:
            'Accepted; the customer is `ready-for-remove` until its removal task (at Location) completes, then it is gone.',
          schema: customerViewSchema,
          headers: ['etag', 'location'],
        },
      },
      ifMatch: true,
      handler: async ({ params, query, request }) => {
        const etag = ifMatchOf(request);
        const { customer, task } = await services.onboarding.remove(params.customerId, {
          dryRun: query.dryRun,
          ...(etag !== undefined ? { ifMatch: etag } : {}),
        });
        return withVersion(202, customer, { location: `/api/v1/tasks/${task.id}` });
      },
    }),
  ];
}
