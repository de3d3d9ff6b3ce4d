import { z } from 'zod';
import { productLog } from '../shared/platform/product-log.js';
import { CREDENTIAL_VERIFY_QUEUE } from '../shared/credentials/credential.js';
import { SHORT_NAME_PATTERN } from '../shared/customers/short-name.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { isDomainError } from '../shared/errors/domain-errors.js';
import { defineQueueHandler, defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';
import type { CustomerCredential } from '../shared/credentials/credential.js';
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
  Pick<AppServices, 'credentialVerifyQueue' | 'credentials' | 'customers' | 'invitations'>;

/**
 * Whether the credential still serves someone: its customer, the wizard session that captured it, or an invitation
 * whose admin consented (or is consenting) and is not added as a customer yet. What serves no one was left by a
 * removal made before removals deleted credentials (docs/decisions.md, 69): verifying it would refresh a removed
 * customer's admin token forever.
 */
async function serves(
  services: CredentialVerificationFunctionsDeps,
  credential: Pick<CustomerCredential, 'customerId' | 'heldByWizardSession'>,
): Promise<boolean> {
  if (credential.heldByWizardSession) return true;
  const customer = await services.customers.get(credential.customerId).catch((error: unknown) => {
    if (isDomainError(error, 'not_found')) return null;
    throw error;
  });
  if (customer) return true;
  const invitation = await services.invitations.state(credential.customerId);
  return invitation === 'valid' || invitation === 'completed';
}

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
        const credential = await services.credentials.get(customerId);
        if (!credential) return;
        if (!(await serves(services, credential))) {
          const forgotten = await services.credentials.forget(customerId);
          if (forgotten) productLog(context, 'warn', forgotten.message, { customerId });
          return;
        }
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
