import { z } from 'zod';
import { labelledValues } from '../validation/enum-labels.js';
import {
  AUTHENTICATION_METHOD_LABELS,
  AUTHENTICATION_METHODS,
  VERIFICATION_STATUS_LABELS,
  VERIFICATION_STATUSES,
} from './credential.js';

export const authenticationStatusRowSchema = z
  .object({
    customerId: z.string(),
    m365Email: z.string().nullable(),
    authenticationMethod: z
      .enum(AUTHENTICATION_METHODS)
      .meta({ description: labelledValues(AUTHENTICATION_METHOD_LABELS) }),
    tenantId: z.string(),
    whenLastVerified: z.iso.datetime().nullable().meta({ description: 'null: Never.' }),
    lastVerificationStatus: z
      .enum(VERIFICATION_STATUSES)
      .meta({ id: 'VerificationStatus', description: labelledValues(VERIFICATION_STATUS_LABELS) }),
    clientSecretDaysUntilExpire: z.number().int().nullable().meta({
      description:
        'App registration only: days until the client secret ends (negative once it has); null when unknown (the app may not read its own registration) or for Token.',
    }),
    message: z.string().nullable().meta({ description: 'Why the last verification failed, in plain words.' }),
  })
  .meta({ id: 'AuthenticationStatus' });
