import { z } from 'zod';
import { invitationEmailSchema } from '../invitations/invitation.js';

/**
 * The manual's M365 Authentication choices that the onboarding wizard and Upgrade Customer share: an invitation to
 * the customer's IT administrator, or a known app registration.
 */

/** A GUID field of the manual's dialogs, named in its messages. */
export const guid = (label: string) =>
  z
    .string({ error: `${label} is required.` })
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, `${label} must be a GUID.`);

export const inviteMethodSchema = z.strictObject({
  method: z.literal('invite').meta({ description: 'Send link to IT administrator for authentication.' }),
  invitationEmail: invitationEmailSchema,
});

export const appRegistrationMethodSchema = z.strictObject({
  method: z.literal('app-registration').meta({ description: 'Use known App registration.' }),
  tenantId: guid('Customer Microsoft Tenant ID'),
  clientId: guid('Application (Client) ID'),
  clientSecret: z
    .string({ error: 'Client Secret is required.' })
    .min(1, 'Client Secret is required.')
    .max(1024),
});
