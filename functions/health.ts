import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { checkHealth, healthReportSchema, livenessSchema } from '../shared/ops/health.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

export type HealthFunctionsDeps = ApiEdge & Pick<AppServices, 'storage'>;

export function createHealthFunctions(services: HealthFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'health',
      method: 'GET',
      route: 'api/v1/health',
      summary: 'Health: liveness for anyone; storage checks and queue depths for a provider admin',
      description:
        'Without a token (an Azure health probe, a load balancer): 200 `{ "status": "ok" }` when the process answers, ' +
        'nothing else. With a provider-admin token: the detailed report, 200 when every check is ok, 503 when one failed. ' +
        'A valid token without the provider-admin role gets the liveness answer, not 403: liveness is public anyway. ' +
        'An invalid or expired token is 401.',
      tags: ['Operations'],
      roles: null,
      optionalAuthentication: true,
      responses: {
        200: {
          description: 'Liveness (anyone), or the report with every check ok (a provider admin).',
          schema: livenessSchema.or(healthReportSchema),
        },
        503: {
          description: 'A storage check failed; the same report says which (a provider admin only).',
          schema: healthReportSchema,
        },
      },
      handler: async ({ principal }) => {
        if (!principal?.roles.includes('provider-admin')) {
          return { status: 200, headers: { 'cache-control': 'no-store' }, body: { status: 'ok' } };
        }
        const report = await checkHealth({ storage: services.storage });
        return {
          status: report.status === 'ok' ? 200 : 503,
          headers: { 'cache-control': 'no-store' },
          body: report,
        };
      },
    }),
  ];
}
