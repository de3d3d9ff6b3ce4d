import { z } from 'zod';
import { nullIfNotFound } from '../shared/errors/not-found.js';
import { customerActivity } from '../shared/customers/customer-activity.js';
import type { Customer } from '../shared/customers/customer.js';
import { createCustomerSchema, updateCustomerSchema } from '../shared/customers/customer.js';
import {
  customerListSchema,
  customerViewSchema,
  toCustomerListView,
  toCustomerView,
} from '../shared/customers/customer-view.js';
import { SHORT_NAME_PATTERN } from '../shared/customers/short-name.js';
import { type ApiEdge, type ApiResult, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams, describedDryRunQuery, ifMatchOf, versioned } from '../shared/http/route-kit.js';
import { nextLinkOf, pagingQuery } from '../shared/paging/paging.js';
import type { CustomerPage } from '../shared/customers/customer-service.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

const TAGS = ['Customers'];
const ROLES = ['provider-admin'] as const;
const COLLECTION = 'api/v1/customers';
const ITEM = 'api/v1/customers/{customerId}';

const listQuery = pagingQuery((key) => SHORT_NAME_PATTERN.test(key)).extend({
  search: z.string().trim().max(100, 'search can be at most 100 characters long.').optional().meta({
    description: 'Case-insensitive part of the Customer Name or Short Name.',
  }),
});

function withVersion(status: number, customer: Customer, headers: Record<string, string> = {}): ApiResult {
  return versioned(customer.etag, { status, body: toCustomerView(customer), headers });
}

/** A channel's or customer admin's customers: few, so one page, in Short Name order. */
async function grantedCustomers(
  services: CustomerFunctionsDeps,
  ids: ReadonlySet<string>,
  search: string | undefined,
): Promise<CustomerPage> {
  const available = await services.customers.availability();
  // A grant may outlive its customer; a storage outage, though, must fail the list rather than shorten it.
  const found = await Promise.all([...ids].map((id) => nullIfNotFound(services.customers.get(id))));
  const needle = search?.toLowerCase();
  const customers = found
    .filter((c): c is Customer => c !== null)
    .filter(
      (c) =>
        !needle || c.shortName.toLowerCase().includes(needle) || c.fullName.toLowerCase().includes(needle),
    )
    .sort((a, b) => a.shortName.localeCompare(b.shortName));
  return { ...available, customers, nextKey: null };
}

export type CustomerFunctionsDeps = ApiEdge &
  Pick<AppServices, 'customers' | 'onboarding' | 'replication' | 'taskEngine'>;

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
        const page =
          allowed.kind === 'all'
            ? await services.customers.list({
                top: query.top,
                ...(query.search ? { search: query.search } : {}),
                ...(query.cursor ? { afterKey: query.cursor } : {}),
              })
            : await grantedCustomers(services, allowed.customerIds, query.search);
        const next = nextLinkOf(`/${COLLECTION}`, { search: query.search, top: query.top }, page.nextKey);
        const activity = new Map(
          await Promise.all(
            page.customers.map(async (c) => [c.id, await customerActivity(services, c.id)] as const),
          ),
        );
        return { status: 200, body: toCustomerListView(page, next, activity) };
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
