import { type AccessScope, decideCustomerAccess } from '../../access/access-policy.js';
import type { AccessStore } from '../../access/access-store.js';
import { type Principal, requireRole } from '../../auth/authenticator.js';
import { domainErrors } from '../../errors/domain-errors.js';
import type { EdgeStep } from './compose.js';

export type AccessPort = Pick<AccessStore, 'customerChannel' | 'grantsOf' | 'customersOfChannel'> & {
  /** The customer's Microsoft 365 tenant id (null: not connected, or no such customer). */
  customerTenant(customerId: string): Promise<string | null>;
};

/** The caller holds one of the route's roles (403 otherwise); before the path, which a stranger should not probe. */
export const authorizeRole: EdgeStep = async (ctx, next) => {
  if (ctx.principal && ctx.route.roles) requireRole(ctx.principal, ctx.route.roles);
  await next();
};

/**
 * A channel or customer admin reaches only their customers: the path's customer (or the one `customerOf` names) must
 * be theirs. Runs before the query and body are read, so a caller outside the customer learns nothing from
 * validation errors. Also tells listing handlers which customers the caller sees.
 */
export function authorizeCustomer(access: AccessPort): EdgeStep {
  return async (ctx, next) => {
    const { principal, route } = ctx;
    ctx.scope = () => scopeOf(access, principal);
    if (principal && route.roles && route.customerScoped && !principal.roles.includes('provider-admin')) {
      const customerId = route.customerOf
        ? await route.customerOf(ctx.params)
        : String((ctx.params as { customerId?: unknown } | undefined)?.customerId ?? '');
      if (!customerId) throw domainErrors.forbidden('You may not act on this resource.');
      const decision = await decideCustomerAccess({
        principal,
        roles: route.roles,
        customerId,
        channelOf: await access.customerChannel(customerId),
        grants: await access.grantsOf(principal.subject),
        tenantOf: () => access.customerTenant(customerId),
      });
      if (!decision.allowed) throw domainErrors.forbidden(decision.reason);
    }
    await next();
  };
}

async function scopeOf(access: AccessPort, caller: Principal | null): Promise<AccessScope> {
  if (!caller || caller.roles.includes('provider-admin')) return { kind: 'all' };
  const grants = await access.grantsOf(caller.subject);
  if (caller.home === 'customer') {
    const tenant = caller.tenantId?.toLowerCase();
    const mine = new Set<string>();
    for (const id of grants.customers) {
      if ((await access.customerTenant(id))?.toLowerCase() === tenant) mine.add(id);
    }
    return { kind: 'customers', customerIds: mine };
  }
  const customerIds = new Set(caller.roles.includes('customer-admin') ? grants.customers : []);
  if (caller.roles.includes('channel-admin')) {
    for (const channel of grants.channels) {
      for (const id of await access.customersOfChannel(channel)) customerIds.add(id);
    }
  }
  return { kind: 'customers', customerIds };
}
