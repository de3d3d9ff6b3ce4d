import { z } from 'zod';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { authenticationStatusRowSchema } from '../shared/credentials/credential-views.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { listPage, pageSchema, pagingQuery } from '../shared/paging/paging.js';

const TAGS = ['Authentication status'];
const ROLES = ['provider-admin'] as const;

const guid = (label: string) =>
  z
    .string({ error: `${label} is required.` })
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, `${label} must be a GUID.`);

export type AuthenticationStatusFunctionsDeps = ApiEdge & Pick<AppServices, 'credentials'>;

export function createAuthenticationStatusFunctions(
  services: AuthenticationStatusFunctionsDeps,
): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'authentication-status-list',
      method: 'GET',
      route: 'api/v1/authentication-status',
      summary:
        'Authentication Status: per customer the method, M365 Email, When Last Verified and Last Verification Status',
      tags: TAGS,
      roles: ROLES,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of rows, one per connected customer, by Short Name.',
          schema: pageSchema(authenticationStatusRowSchema, 'AuthenticationStatusPage'),
        },
      },
      handler: async ({ query, request }) => ({
        status: 200,
        body: listPage(await services.credentials.status(), (row) => row.customerId, query, request.url),
      }),
    }),
    defineApiRoute(services, {
      name: 'authentication-status-check',
      method: 'POST',
      route: 'api/v1/authentication-status/{customerId}/check',
      summary: 'Check Credentials: get tokens for Microsoft Graph and the Teams admin API now',
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      responses: {
        200: { description: 'The outcome, also recorded.', schema: authenticationStatusRowSchema },
      },
      handler: async ({ params }) => ({
        status: 200,
        body: await services.credentials.verify(params.customerId),
      }),
    }),
    defineApiRoute(services, {
      name: 'authentication-status-update-app-registration',
      method: 'PUT',
      route: 'api/v1/authentication-status/{customerId}/app-registration',
      summary:
        "Update: replace a customer's app registration (say, a renewed secret); validated before anything is stored",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: z.strictObject({
        clientId: guid('Application (Client) ID'),
        clientSecret: z
          .string({ error: 'Client Secret is required.' })
          .min(1, 'Client Secret is required.')
          .max(1024),
      }),
      responses: { 200: { description: 'Validated and stored.', schema: authenticationStatusRowSchema } },
      errors: {
        unprocessable:
          'The app registration does not yield tokens (`app_registration_invalid`), or lacks a Microsoft Graph ' +
          'permission onboarding or replication needs (`app_registration_permission_missing`, one error per ' +
          'permission); nothing was stored.',
        upstream_failed: 'Microsoft Graph did not answer the permission check; nothing was stored.',
      },
      handler: async ({ params, body }) => {
        const current = await services.credentials.get(params.customerId);
        if (!current)
          throw domainErrors.notFound(`"${params.customerId}" has no Microsoft 365 credentials yet.`);
        await services.credentials.connectAppRegistration(current.customerId, {
          tenantId: current.tenantId,
          ...body,
        });
        const row = (await services.credentials.status()).find((r) => r.customerId === current.customerId);
        return { status: 200, body: row };
      },
    }),
  ];
}
