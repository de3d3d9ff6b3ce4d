import { z } from 'zod';
import { DomainError } from '../shared/errors/domain-errors.js';
import { SHORT_NAME_PATTERN } from '../shared/customers/short-name.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerParams } from '../shared/http/route-kit.js';
import { invitationEmailSchema } from '../shared/invitations/invitation.js';
import { invitationListSchema, invitationViewSchema } from '../shared/invitations/invitation-views.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { listPage, pagingQuery } from '../shared/paging/paging.js';

const TAGS = ['Customer invitations'];
const ROLES = ['provider-admin'] as const;
const ITEM = 'api/v1/invitations/{invitationId}';
const itemParams = z.strictObject({ invitationId: z.string().regex(SHORT_NAME_PATTERN) });

export type InvitationFunctionsDeps = ApiEdge & Pick<AppServices, 'customers' | 'invitations'>;

export function createInvitationFunctions(services: InvitationFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'invitations-list',
      method: 'GET',
      route: 'api/v1/invitations',
      summary: 'Customer Invitations: every live invitation with its email delivery and authentication state',
      tags: TAGS,
      roles: ROLES,
      query: pagingQuery(),
      responses: {
        200: { description: 'A page of invitations, revoked ones excluded.', schema: invitationListSchema },
      },
      handler: async ({ query, request }) => ({
        status: 200,
        body: listPage(await services.invitations.list(), (invitation) => invitation.id, query, request.url),
      }),
    }),
    defineApiRoute(services, {
      name: 'invitations-get',
      method: 'GET',
      route: ITEM,
      summary: 'One invitation',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      responses: { 200: { description: 'The invitation.', schema: invitationViewSchema } },
      handler: async ({ params }) => ({
        status: 200,
        body: await services.invitations.get(params.invitationId),
      }),
    }),
    defineApiRoute(services, {
      name: 'invitations-remind',
      method: 'POST',
      route: `${ITEM}/reminder`,
      summary:
        'Send Reminder, to the same or a new address; the new email carries a new link and the old one stops working',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      body: z.strictObject({ invitationEmail: invitationEmailSchema.optional() }),
      responses: { 200: { description: 'Reminder queued.', schema: invitationViewSchema } },
      handler: async ({ params, body }) => ({
        status: 200,
        body: await services.invitations.remind(params.invitationId, body.invitationEmail),
      }),
    }),
    defineApiRoute(services, {
      name: 'invitations-revoke',
      method: 'DELETE',
      route: ITEM,
      summary: 'Revoke Request: the link stops working at once',
      tags: TAGS,
      roles: ROLES,
      params: itemParams,
      responses: { 204: { description: 'Revoked.' } },
      handler: async ({ params }) => {
        await services.invitations.revoke(params.invitationId);
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'customers-switch-to-token',
      method: 'POST',
      route: 'api/v1/customers/{customerId}/invitations',
      summary:
        "Switch to token: invite an existing customer's IT administrator to authenticate (Invitation Type `request`)",
      tags: TAGS,
      roles: ROLES,
      params: customerParams,
      body: z.strictObject({ invitationEmail: invitationEmailSchema }),
      responses: {
        201: {
          description: 'Invitation created and its email queued.',
          schema: invitationViewSchema,
          headers: ['location'],
        },
      },
      errors: {
        conflict:
          '`no_m365_for_essentials` (a Hosted Essentials customer has no Microsoft 365 side), `prerequisite_missing` (no token app or Email Settings), or `invitation_exists` (one is pending; remind or revoke it first).',
      },
      handler: async ({ params, body }) => {
        const customer = await services.customers.get(params.customerId);
        if (customer.licenseType === 'hosted-essentials') {
          throw new DomainError('conflict', {
            code: 'no_m365_for_essentials',
            title: 'No Microsoft 365 for Hosted Essentials',
            detail: 'Hosted Essentials customers have no Microsoft 365 side to connect.',
          });
        }
        const invitation = await services.invitations.invite(customer, body.invitationEmail, 'request');
        return {
          status: 201,
          headers: { location: `/api/v1/invitations/${encodeURIComponent(invitation.id)}` },
          body: invitation,
        };
      },
    }),
  ];
}
