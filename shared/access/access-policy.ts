import type { Principal } from '../auth/authenticator.js';
import type { HttpMethod } from '../platform/function-definitions.js';
import type { Role } from '../auth/roles.js';

/**
 * Who may see what (docs/access.md):
 * - a provider admin: everything;
 * - a channel admin: on the customers granted to its channel(s), their Customer portal (what their customer admins
 *   may do) and the few provider operations CHANNEL_ADMIN_OPERATIONS lists — deny by default;
 * - a customer admin: the read operations of the customers it administers (one account may administer several).
 * Operations that are not about one customer (settings, templates, SBC inventory, the wizard, global lists) stay
 * the provider's, unless a route opens them explicitly and filters by `AccessScope`.
 */
export const ROLES = ['provider-admin', 'channel-admin', 'customer-admin'] as const satisfies readonly Role[];

/** What a caller's grants are. */
export interface Grants {
  readonly channels: ReadonlySet<string>;
  readonly customers: ReadonlySet<string>;
}

/** What a caller may see of a list: everything, or these customers. */
export type AccessScope =
  { readonly kind: 'all' } | { readonly kind: 'customers'; readonly customerIds: ReadonlySet<string> };

/**
 * The provider portal's operations a channel admin may also call on its customers (issue 14 item 5: deny by
 * default). The manual gives a channel admin its customers' Customer portal (manual-part-D §3.14: "Picking a customer
 * opens that tenant's Customer portal"); beyond that, what operating them needs and what moves nothing shared or
 * billed: running their tasks on, re-reading their state, naming their Customer Admins. Not here, so the provider's:
 * the customer's record and Licensed Users, its license type and factors (what the provider bills), its removal,
 * its sites, prefixes and DNS on the shared SBCs and zone, and its Microsoft 365 connection.
 */
export const CHANNEL_ADMIN_OPERATIONS: ReadonlySet<string> = new Set([
  'tasks-resume',
  'tasks-rerun',
  'tasks-cancel',
  'replication-queue',
  'authentication-status-check',
  'prefixes-reload',
  'customer-admins-grant',
  'customer-admins-revoke',
]);

/**
 * The roles that may call a customer-scoped operation the provider may call: its reads are open to channel and
 * customer admins; its changes to a channel admin only when a customer admin may make them too (the Customer portal)
 * or CHANNEL_ADMIN_OPERATIONS lists it. Everything else stays the provider's.
 */
export function customerScopedRoles(
  declared: readonly Role[],
  method: HttpMethod,
  operationId: string,
): Role[] {
  const roles = new Set<Role>(declared);
  if (roles.has('provider-admin')) {
    if (method === 'GET') {
      roles.add('channel-admin');
      roles.add('customer-admin');
    } else if (roles.has('customer-admin') || CHANNEL_ADMIN_OPERATIONS.has(operationId)) {
      roles.add('channel-admin');
    }
  }
  return [...roles];
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * Whether `principal` may act on `customerId` through an operation open to `roles`. `channelOf` is the customer's
 * channel (null: the provider's own customer, or no such customer).
 */
export async function decideCustomerAccess(input: {
  readonly principal: Principal;
  readonly roles: readonly Role[];
  readonly customerId: string;
  readonly channelOf: string | null;
  readonly grants: Grants;
  /** The customer's Microsoft 365 tenant id; asked only for a caller signed in to a customer's tenant. */
  readonly tenantOf: () => Promise<string | null>;
}): Promise<Decision> {
  const { principal, roles, grants } = input;
  const has = (role: Role) => roles.includes(role) && principal.roles.includes(role);
  const denied = { allowed: false, reason: `You may not act on customer "${input.customerId}".` } as const;
  if (principal.home === 'customer') {
    // Granted by (tenant, object id): the grant's user, signed in to this very customer's tenant.
    const tenant = await input.tenantOf();
    const same = tenant !== null && tenant.toLowerCase() === principal.tenantId?.toLowerCase();
    return same && has('customer-admin') && grants.customers.has(input.customerId.toLowerCase())
      ? { allowed: true }
      : denied;
  }
  if (has('provider-admin')) return { allowed: true };
  const customer = input.customerId.toLowerCase();
  if (has('channel-admin') && input.channelOf !== null && grants.channels.has(input.channelOf)) {
    return { allowed: true };
  }
  if (has('customer-admin') && grants.customers.has(customer)) return { allowed: true };
  return denied;
}
