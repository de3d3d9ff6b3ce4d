import { z } from 'zod';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { customerIdParam } from '../shared/http/route-kit.js';
import type { AppServices } from './app-services.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { listPage, pageSchema, pagingQuery } from '../shared/paging/paging.js';

const TAGS = ['Access'];
const ROLES = ['provider-admin'] as const;

const channelId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'is letters, digits, _ and -.')
  .meta({ description: 'The channel (a reseller) id.' });
const objectId = z
  .string()
  .regex(
    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    'is an Entra object id.',
  )
  .transform((value) => value.toLowerCase());
const customerId = customerIdParam;

const channelSchema = z.object({ id: z.string(), name: z.string() }).meta({ id: 'Channel' });
const adminSchema = z
  .object({
    customerId: z.string(),
    userId: z.string(),
    userPrincipalName: z.string(),
    displayName: z.string().nullable(),
    grantedAt: z.iso.datetime(),
    grantedBy: z.string(),
  })
  .meta({ id: 'Admin' });

const requireChannel = async (services: Pick<AppServices, 'access'>, id: string) => {
  const channel = await services.access.channel(id);
  if (!channel) throw domainErrors.notFound(`There is no channel "${id}".`);
  return channel;
};

export type AccessFunctionsDeps = ApiEdge &
  Pick<AppServices, 'access' | 'customers' | 'customerActivity' | 'mirror'>;

export function createAccessFunctions(services: AccessFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'channels-list',
      method: 'GET',
      route: 'api/v1/channels',
      summary: 'Channels (resellers) and their admins',
      tags: TAGS,
      roles: ROLES,
      query: pagingQuery(),
      responses: {
        200: {
          description: 'A page of channels, by id.',
          schema: pageSchema(channelSchema.extend({ admins: z.array(z.string()) }), 'ChannelPage'),
        },
      },
      handler: async ({ query, request }) => {
        const access = services.access;
        const [channels, admins] = await Promise.all([access.channels(), access.allChannelAdmins()]);
        const page = listPage(channels, (c) => c.id, query, request.url);
        const value = page.value.map((c) => ({ ...c, admins: admins.get(c.id.toLowerCase()) ?? [] }));
        return { status: 200, body: { ...page, value } };
      },
    }),
    defineApiRoute(services, {
      name: 'channels-put',
      method: 'PUT',
      route: 'api/v1/channels/{channelId}',
      summary: 'Create or rename a channel',
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({ channelId }),
      body: z.strictObject({ name: z.string().trim().min(1, 'Name is required.').max(100) }),
      responses: { 200: { description: 'The channel.', schema: channelSchema } },
      handler: async ({ params, body }) => {
        const channel = { id: params.channelId, name: body.name };
        await services.access.putChannel(channel);
        return { status: 200, body: channel };
      },
    }),
    defineApiRoute(services, {
      name: 'channel-admins-grant',
      method: 'PUT',
      route: 'api/v1/channels/{channelId}/admins/{subject}',
      summary: "Make an account (its Entra object id) an admin of the channel's customers",
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({ channelId, subject: objectId }),
      responses: { 204: { description: 'Granted.' } },
      errors: { not_found: 'No such channel.' },
      handler: async ({ params }) => {
        await requireChannel(services, params.channelId);
        await services.access.grantChannel(params.channelId, params.subject);
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'channel-admins-revoke',
      method: 'DELETE',
      route: 'api/v1/channels/{channelId}/admins/{subject}',
      summary: 'Revoke a channel admin',
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({ channelId, subject: objectId }),
      responses: { 204: { description: 'Revoked (or was not granted).' } },
      handler: async ({ params }) => {
        await services.access.revokeChannel(params.channelId, params.subject);
        return { status: 204 };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-channel-set',
      method: 'PUT',
      route: 'api/v1/customers/{customerId}/channel',
      summary: "Put a customer in a channel (or back to the provider's own with null)",
      tags: TAGS,
      roles: ROLES,
      access: { providerOnly: true },
      params: z.strictObject({ customerId }),
      body: z.strictObject({ channelId: channelId.nullable() }),
      responses: {
        200: {
          description: 'The customer and its channel.',
          schema: z.object({ customerId: z.string(), channelId: z.string().nullable() }),
        },
      },
      errors: { not_found: 'No such customer or channel.' },
      handler: async ({ params, body }) => {
        const customer = await services.customers.get(params.customerId);
        if (body.channelId !== null) await requireChannel(services, body.channelId);
        await services.access.setCustomerChannel(customer.id, body.channelId);
        // The Tenants list's channel filter reads the copy beside the customer; a crash before this line leaves it
        // to the reconciliation.
        await services.customerActivity.channelChanged(customer.id, body.channelId);
        return {
          status: 200,
          body: { customerId: customer.id, channelId: body.channelId?.toLowerCase() ?? null },
        };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-admins-list',
      method: 'GET',
      route: 'api/v1/customers/{customerId}/admins',
      summary: "Customer Admins: the users of the customer's directory with admin rights",
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({ customerId }),
      query: pagingQuery(),
      responses: {
        200: { description: 'A page of admins.', schema: pageSchema(adminSchema, 'CustomerAdminPage') },
      },
      handler: async ({ params, query, request }) => {
        await services.customers.get(params.customerId);
        const admins = await services.access.customerAdmins(params.customerId);
        return { status: 200, body: listPage(admins, (admin) => admin.userId, query, request.url) };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-admins-grant',
      method: 'PUT',
      route: 'api/v1/customers/{customerId}/admins/{userId}',
      summary: "Grant admin rights to a user of the customer's replicated directory",
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({ customerId, userId: objectId }),
      responses: { 200: { description: 'Granted.', schema: adminSchema } },
      errors: { not_found: 'No such customer, or no such user in its replicated directory.' },
      handler: async ({ params, principal }) => {
        const customer = await services.customers.get(params.customerId);
        const user = await services.mirror.getUser(customer.id, params.userId);
        if (!user) {
          throw domainErrors.notFound(
            `User ${params.userId} is not in ${customer.id}'s replicated directory; replicate it first (Queue Replication).`,
          );
        }
        const admin = {
          customerId: customer.id,
          userId: params.userId,
          userPrincipalName: user.userPrincipalName,
          displayName: user.displayName,
          grantedAt: new Date().toISOString(),
          grantedBy: principal?.subject ?? 'unknown',
        };
        await services.access.grantCustomerAdmin(admin);
        return { status: 200, body: admin };
      },
    }),
    defineApiRoute(services, {
      name: 'customer-admins-revoke',
      method: 'DELETE',
      route: 'api/v1/customers/{customerId}/admins/{userId}',
      summary: 'Revoke admin rights',
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({ customerId, userId: objectId }),
      responses: { 204: { description: 'Revoked (or was not granted).' } },
      handler: async ({ params }) => {
        await services.access.revokeCustomerAdmin(params.customerId, params.userId);
        return { status: 204 };
      },
    }),
  ];
}
