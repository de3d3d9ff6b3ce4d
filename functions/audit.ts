import { z } from 'zod';
import { auditEntrySchema } from '../shared/audit/audit-store.js';
import { REMOVED_CUSTOMER_KEY, removedCustomerSchema } from '../shared/customers/removed-customers.js';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { nextLinkOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import { customerParams } from '../shared/http/route-kit.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Audit'];
const ROLES = ['provider-admin'] as const;

const query = pagingQuery((key) => /^\d{13}-[0-9a-f]{12}$/.test(key));
const auditPage = pageSchema(auditEntrySchema, 'AuditPage');
const removedQuery = pagingQuery((key) => REMOVED_CUSTOMER_KEY.test(key));
const removedPage = pageSchema(removedCustomerSchema, 'RemovedCustomerPage');
const removedParams = z.strictObject({
  uid: z.uuid().meta({ description: 'The removed customer’s uid, as the removed customers list shows it.' }),
});

const nextLink = (path: string, top: number, next: string | null) => nextLinkOf(path, { top }, next);

export type AuditFunctionsDeps = ApiEdge & Pick<AppServices, 'audit' | 'removedCustomers'>;

export function createAuditFunctions(services: AuditFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'customer-audit',
      method: 'GET',
      route: 'api/v1/customers/{customerId}/audit',
      summary: 'Who changed what about the customer, and when (newest first; secrets masked)',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      query,
      responses: { 200: { description: 'A page of audit entries.', schema: auditPage } },
      handler: async ({ params, query: q }) => {
        // A former customer of the Short Name keeps its entries, the provider's to read (removed-customer-audit).
        const page = await services.audit.list(params.customerId, {
          top: q.top,
          since: await services.removedCustomers.releasedAt(params.customerId),
          ...(q.cursor ? { after: q.cursor } : {}),
        });
        return {
          status: 200,
          body: {
            value: page.entries,
            nextLink: nextLink(`/api/v1/customers/${params.customerId}/audit`, q.top, page.next),
          },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'provider-audit',
      method: 'GET',
      route: 'api/v1/audit',
      summary:
        'Who changed the provider settings, templates, channels and other operations about no one customer',
      tags: TAGS,
      roles: ROLES,
      query,
      responses: { 200: { description: 'A page of audit entries.', schema: auditPage } },
      handler: async ({ query: q }) => {
        const page = await services.audit.list(null, {
          top: q.top,
          ...(q.cursor ? { after: q.cursor } : {}),
        });
        return {
          status: 200,
          body: { value: page.entries, nextLink: nextLink('/api/v1/audit', q.top, page.next) },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'removed-customers-list',
      method: 'GET',
      route: 'api/v1/removed-customers',
      summary: 'Customers removed, newest first: whose audit and tasks the provider keeps',
      tags: TAGS,
      roles: ROLES,
      query: removedQuery,
      responses: { 200: { description: 'A page of removed customers.', schema: removedPage } },
      handler: async ({ query: q }) => {
        const page = await services.removedCustomers.page({
          top: q.top,
          ...(q.cursor ? { after: q.cursor } : {}),
        });
        return {
          status: 200,
          body: {
            value: page.items,
            nextLink: nextLinkOf('/api/v1/removed-customers', { top: q.top }, page.nextKey),
          },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'removed-customer-audit',
      method: 'GET',
      route: 'api/v1/removed-customers/{uid}/audit',
      summary: 'Who changed what about a removed customer, and when (newest first; secrets masked)',
      tags: TAGS,
      roles: ROLES,
      params: removedParams,
      query,
      responses: { 200: { description: 'A page of audit entries.', schema: auditPage } },
      handler: async ({ params, query: q }) => {
        const removed = await services.removedCustomers.get(params.uid);
        if (!removed) throw domainErrors.notFound(`No removed customer has the uid ${params.uid}.`);
        // Its entries are those of its Short Name between the name's release before it and its own removal.
        const page = await services.audit.list(removed.shortName, {
          top: q.top,
          since: removed.since,
          until: removed.removedAt,
          ...(q.cursor ? { after: q.cursor } : {}),
        });
        return {
          status: 200,
          body: {
            value: page.entries,
            nextLink: nextLink(`/api/v1/removed-customers/${params.uid}/audit`, q.top, page.next),
          },
        };
      },
    }),
  ];
}
