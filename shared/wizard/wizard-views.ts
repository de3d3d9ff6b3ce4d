import { z } from 'zod';
import { licenseTypeSchema } from '../customers/customer-view.js';
import { sbcConfigurationSchema } from '../onboarding/sbc-site.js';
import { INVITATION_STATUS_LABELS, INVITATION_STATUSES } from '../invitations/invitation.js';
import { labelledValues } from '../validation/enum-labels.js';
import type { WizardResetOutcome } from './wizard-service.js';
import type { WizardSession } from './wizard-session.js';

export const wizardSessionViewSchema = z
  .object({
    id: z.string(),
    expiresAt: z.iso.datetime().meta({ description: 'Renewed to ten minutes ahead by every step.' }),
    customer: z
      .object({
        fullName: z.string(),
        shortName: z.string(),
        licenseType: licenseTypeSchema,
        licensedUsers: z.number().int(),
      })
      .nullable(),
    connection: z
      .object({
        method: z.enum(['invite', 'sign-in', 'app-registration']),
        status: z.enum(INVITATION_STATUSES).meta({ description: labelledValues(INVITATION_STATUS_LABELS) }),
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
    pages: z.object({
      dns: z.record(z.string(), z.unknown()).nullable(),
      m365Routing: z.record(z.string(), z.unknown()).nullable(),
      sbc: z
        .object({
          configureSbc: z.boolean(),
          sbcSiteName: z.string(),
          onlinePstnGateway: z.string().nullable(),
          sbcConfiguration: sbcConfigurationSchema.nullable(),
          regionId: z.string().nullable(),
          carrier: z.string().nullable(),
          carrierRegistration: z
            .object({
              username: z.string(),
              passwordSaved: z.boolean(),
              mainLine: z.string(),
              hostName: z.string(),
            })
            .nullable(),
          cacProfile: z.string().nullable(),
        })
        .nullable(),
      prefixes: z.array(z.object({ dialPlanName: z.string(), prefix: z.string(), tag: z.string() })),
      sbcScripts: z.record(z.string(), z.unknown()).nullable(),
    }),
    taskId: z.string().nullable().meta({
      description:
        'Set once submitted: the CreateCustomer task (/api/v1/tasks/{taskId}). The session is closed then: its pages and Submit answer 409 wizard_submitted.',
    }),
    signInUrl: z.url().optional().meta({
      description:
        'After choosing "Sign in now": a one-time link on this host, valid for 5 minutes. Open it in the browser that will sign in: it binds the sign-in to that browser and goes on to Microsoft, which returns to /authenticate/OAuth2Callback (in that browser only) and the connection becomes `authentication-complete`. Choosing Sign in now again gives a new link.',
    }),
  })
  .meta({ id: 'WizardSession' });

export function toWizardSessionView(session: WizardSession): z.output<typeof wizardSessionViewSchema> {
  const settings = session.m365Settings;
  return {
    id: session.id,
    expiresAt: session.expiresAt,
    taskId: session.submittedTaskId,
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
    pages: {
      ...session.pages,
      prefixes: [...session.pages.prefixes],
      sbc: session.pages.sbc
        ? {
            ...session.pages.sbc,
            carrierRegistration: session.pages.sbc.carrierRegistration
              ? {
                  username: session.pages.sbc.carrierRegistration.username,
                  passwordSaved: true,
                  mainLine: session.pages.sbc.carrierRegistration.mainLine,
                  hostName: session.pages.sbc.carrierRegistration.hostName,
                }
              : null,
          }
        : null,
    },
  };
}

export const wizardResetViewSchema = z
  .object({
    credentialsDeleted: z
      .object({
        customerId: z.string(),
        tenantId: z.string(),
        message: z.string().meta({
          description:
            "What the customer's admin should revoke in their tenant: deleting our copy does not undo the grant.",
        }),
      })
      .nullable()
      .meta({
        description:
          'The Microsoft 365 credentials the session had captured (app registration or sign-in), now deleted; null when it had none.',
      }),
  })
  .meta({ id: 'WizardReset' });

export function toWizardResetView(outcome: WizardResetOutcome): z.output<typeof wizardResetViewSchema> {
  const deleted = outcome.credentialsDeleted;
  return {
    credentialsDeleted: deleted
      ? { customerId: deleted.customerId, tenantId: deleted.tenantId, message: deleted.message }
      : null,
  };
}
