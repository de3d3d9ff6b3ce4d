import { z } from 'zod';
import { LICENSE_TYPES } from '../customers/customer.js';
import type { WizardSession } from './wizard-session.js';

export const wizardSessionViewSchema = z.object({
  id: z.string(),
  expiresAt: z.iso.datetime().meta({ description: 'Renewed to ten minutes ahead by every step.' }),
  customer: z
    .object({
      fullName: z.string(),
      shortName: z.string(),
      licenseType: z.enum(LICENSE_TYPES),
      licensedUsers: z.number().int(),
    })
    .nullable(),
  connection: z
    .object({
      method: z.enum(['invite', 'sign-in', 'app-registration']),
      status: z.enum(['Pending Authentication', 'Authentication Complete']),
      invitationId: z.string().optional(),
      tenantId: z.string().optional(),
    })
    .nullable(),
  m365Settings: z
    .object({
      overrideAdminDomain: z.string(),
      tenantId: z.string().meta({ description: 'Read-only: the tenant the admin authenticated in.' }),
      grantAdminAccessTo: z.string().nullable(),
      teamsNotificationAppId: z.string().nullable(),
      teamsNotificationSecretSaved: z.boolean(),
    })
    .nullable(),
  signInUrl: z.url().optional().meta({
    description:
      'After choosing "Sign in now": open it in a browser; Microsoft returns to /authenticate/OAuth2Callback and the connection becomes "Authentication Complete".',
  }),
});

export function toWizardSessionView(session: WizardSession): z.output<typeof wizardSessionViewSchema> {
  const settings = session.m365Settings;
  return {
    id: session.id,
    expiresAt: session.expiresAt,
    customer: session.draft,
    connection: session.connection,
    m365Settings: settings
      ? {
          overrideAdminDomain: settings.overrideAdminDomain,
          tenantId: settings.tenantId,
          grantAdminAccessTo: settings.grantAdminAccessTo,
          teamsNotificationAppId: settings.teamsNotificationAppId,
          teamsNotificationSecretSaved: settings.teamsNotificationSecretSealed !== null,
        }
      : null,
  };
}
