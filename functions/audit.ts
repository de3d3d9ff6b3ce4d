import { auditEntrySchema } from '../shared/audit/audit-store.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { nextLinkOf, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import { customerParams } from '../shared/http/route-kit.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';

const TAGS = ['Audit'];
const ROLES = ['provider-admin'] as const;

const query = pagingQuery((key) => /^\d{13}-[0-9a-f]{12}$/.test(key));
const auditPage = pageSchema(auditEntrySchema, 'AuditPage');

const nextLink = (path: string, top: number, next: string | null) => nextLinkOf(path, { top }, next);

export type AuditFunctionsDeps = ApiEdge & Pick<AppServices, 'audit'>;

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
        const page = await services.audit.list(params.customerId, {
          top: q.top,
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
  ];
}
