import type { Principal } from '../auth/authenticator.js';
import type { HttpMethod } from '../platform/function-definitions.js';
import type { Role } from '../auth/roles.js';

/**
 * Who may see what (docs/access.md):
 * - a provider admin: everything;
 * - a channel admin: every customer-scoped operation on the customers granted to its channel(s);
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

/** The roles that may call a customer-scoped operation: channel admins always, customer admins when it only reads. */
export function customerScopedRoles(declared: readonly Role[], method: HttpMethod): Role[] {
  const roles = new Set<Role>(declared);
  if (roles.has('provider-admin')) {
    roles.add('channel-admin');
    if (method === 'GET') roles.add('customer-admin');
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
