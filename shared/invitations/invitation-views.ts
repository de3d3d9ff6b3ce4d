import { z } from 'zod';
import { licenseTypeSchema } from '../customers/customer-view.js';
import { labelledValues } from '../validation/enum-labels.js';
import {
  INVITATION_STATUS_LABELS,
  INVITATION_STATUSES,
  INVITATION_TYPE_LABELS,
  INVITATION_TYPES,
} from './invitation.js';
import { pageSchema } from '../paging/paging.js';

/** The Customer Invitations grid, column by column. */
export const invitationViewSchema = z
  .object({
    id: z.string().meta({ description: 'ID: the customer Short Name.' }),
    fullName: z.string(),
    licenseType: licenseTypeSchema,
    licensedUsers: z.number().int(),
    invitationEmail: z.string(),
    m365AdminEmail: z.string().nullable(),
    emailSent: z.boolean(),
    emailInvitationSentCount: z
      .number()
      .int()
      .meta({ description: 'Delivery attempts, retried every minute until sent.' }),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    expired: z.boolean(),
    deviceAuthenticated: z.boolean(),
    invitationType: z
      .enum(INVITATION_TYPES)
      .meta({ id: 'InvitationType', description: labelledValues(INVITATION_TYPE_LABELS) }),
    tenantInstalled: z.boolean(),
    status: z
      .enum(INVITATION_STATUSES)
      .meta({ id: 'InvitationStatus', description: labelledValues(INVITATION_STATUS_LABELS) }),
  })
  .meta({ id: 'Invitation' });

export const invitationListSchema = pageSchema(invitationViewSchema, 'InvitationPage');
