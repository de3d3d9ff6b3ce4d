import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { NO_M365_USERS_DOC } from '../shared/users/user-access.js';
import {
  simulateBodySchema,
  simulateForCustomer,
  simulationViewSchema,
} from '../shared/voice/voice-simulation.js';
import type { AppServices } from './app-services.js';

/** A read-only what-if, so the customer's own admins may run it too (a POST only because it takes a body). */
const ROLES = ['provider-admin', 'customer-admin'] as const;

export type VoiceSimulateFunctionsDeps = ApiEdge & Pick<AppServices, 'customers' | 'mirror'>;

export function createVoiceSimulateFunctions(services: VoiceSimulateFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'voice-simulate',
      method: 'POST',
      route: 'api/v1/customers/{customerId}/voice/simulate',
      summary:
        'Call-routing simulator: the normalization rule, usage, routes and gateways Teams would use for a dialed number',
      description:
        'Test-CsEffectiveTenantDialPlan then Test-CsOnlineVoiceRoute over the mirrored voice objects, for a user (their dial plan and voice routing policy) or a policy and dial plan; `pending` lays changed or removed objects over the mirror first, to test a change before queuing it. Changes nothing. See docs/voice-routing.md.',
      tags: ['Voice'],
      roles: ROLES,
      params: customerParams,
      body: simulateBodySchema,
      responses: {
        200: { description: 'What Teams would do with the number.', schema: simulationViewSchema },
      },
      errors: {
        conflict: NO_M365_USERS_DOC,
        not_found: 'The user is not in the mirror.',
        validation:
          '`validation_failed`: e.g. a pending NumberPattern or normalization rule .NET would refuse (`pattern_invalid`), one not supported (`pattern_unsupported`), a translation naming a group the pattern lacks (`translation_invalid`), userId together with voiceRoutingPolicy.',
      },
      handler: async ({ params, body }) => ({
        status: 200,
        body: await simulateForCustomer(services, params.customerId, body),
      }),
    }),
  ];
}
