import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { checkHealth, healthReportSchema } from '../shared/ops/health.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';

export type HealthFunctionsDeps = ApiEdge & Pick<AppServices, 'storage'>;

export function createHealthFunctions(services: HealthFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'health',
      method: 'GET',
      route: 'api/v1/health',
      summary: "Health: Table and Queue storage answer in time; each queue's and its poison queue's depth",
      tags: ['Operations'],
      roles: ['provider-admin'],
      responses: {
        200: { description: 'Every check is ok.', schema: healthReportSchema },
        503: {
          description: 'A storage check failed; the same report says which.',
          schema: healthReportSchema,
        },
      },
      handler: async () => {
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
