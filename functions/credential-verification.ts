import { z } from 'zod';
import { productLog } from '../shared/platform/product-log.js';
import { CREDENTIAL_VERIFY_QUEUE } from '../shared/credentials/credential.js';
import { SHORT_NAME_PATTERN } from '../shared/customers/short-name.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { isDomainError } from '../shared/errors/domain-errors.js';
import { defineQueueHandler, defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';
import { VERIFICATION_STATUS_LABELS } from '../shared/credentials/credential.js';

const verifyMessage = z.strictObject({ customerId: z.string().regex(SHORT_NAME_PATTERN) });

/** One queue message per customer, so that one slow or failing tenant does not hold up the others. */
async function fanOut(services: CredentialVerificationFunctionsDeps): Promise<number> {
  let queued = 0;
  for (const row of await services.credentials.status()) {
    await services.credentialVerifyQueue.send({ customerId: row.customerId });
    queued++;
  }
  return queued;
}

export type CredentialVerificationFunctionsDeps = ApiEdge &
  Pick<AppServices, 'credentialVerifyQueue' | 'credentials'>;

export function createCredentialVerificationFunctions(
  services: CredentialVerificationFunctionsDeps,
): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'authentication-status-verify-all',
      method: 'POST',
      route: 'api/v1/authentication-status/verify-all',
      summary: "Verify All: check every customer's credentials (both resources) in the background",
      tags: ['Authentication status'],
      roles: ['provider-admin'],
      responses: {
        202: {
          description:
            "Queued; each row's When Last Verified and Last Verification Status change as they finish.",
          schema: z.object({ queued: z.number().int() }),
        },
      },
      handler: async () => ({ status: 202, body: { queued: await fanOut(services) } }),
    }),
    defineQueueHandler({
      name: 'credential-verify',
      queueName: CREDENTIAL_VERIFY_QUEUE,
      message: {
        schema: verifyMessage,
        describe: 'A credential-verify message is { "customerId": "<Short Name>" }.',
      },
      logFields: ({ customerId }) => ({ customerId }),
      async run({ customerId }, context) {
        const row = await services.credentials.verify(customerId).catch((error: unknown) => {
          // The customer was removed meanwhile: nothing to verify.
          if (isDomainError(error, 'not_found')) return null;
          throw error;
        });
        if (row)
          productLog(
            context,
            'info',
            `Credentials: ${VERIFICATION_STATUS_LABELS[row.lastVerificationStatus]}.`,
            {
              customerId: row.customerId,
            },
          );
      },
    }),
    defineTimer({
      name: 'credential-verify-daily',
      // Every day at 03:00 UTC, out of business hours in most of the provider's customers' time zones.
      schedule: '0 0 3 * * *',
      async run(context) {
        productLog(context, 'info', `Daily verification queued for ${await fanOut(services)} customers.`);
      },
    }),
  ];
}
