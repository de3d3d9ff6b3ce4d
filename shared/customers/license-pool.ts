import { DomainError } from '../errors/domain-errors.js';
import type { LicenseAllocation } from './customer-store.js';

/** The provider's license: MultiTenant Tenant License Count and MultiTenant User License Count. */
export interface LicenseLimits {
  readonly tenantCount: number;
  readonly userCount: number;
  /** Expiration Date (YYYY-MM-DD, the last valid day); null: none. */
  readonly expiresOn?: string | null;
}

export interface LicenseAvailability {
  readonly availableCustomers: number;
  readonly availableUsers: number;
}

export function availability(limits: LicenseLimits, allocation: LicenseAllocation): LicenseAvailability {
  return {
    availableCustomers: Math.max(0, limits.tenantCount - allocation.customers),
    availableUsers: Math.max(0, limits.userCount - allocation.users),
  };
}

/** The allocation after a change, or a 409 naming the license that does not stretch that far. */
export function allocate(
  limits: LicenseLimits,
  allocation: LicenseAllocation,
  change: { readonly customers: number; readonly users: number },
  today: string = new Date().toISOString().slice(0, 10),
): LicenseAllocation {
  // An expired license keeps what customers have; it allows nothing more (the manual: no new tenants or users).
  if (limits.expiresOn && today > limits.expiresOn && (change.customers > 0 || change.users > 0)) {
    throw new DomainError('conflict', {
      code: 'license_expired',
      title: 'The license has expired',
      detail: `The license expired on ${limits.expiresOn}: no new customers or licensed users until it is renewed (LICENSE_EXPIRES).`,
    });
  }
  const next = { customers: allocation.customers + change.customers, users: allocation.users + change.users };
  const free = availability(limits, allocation);
  if (change.customers > 0 && next.customers > limits.tenantCount) {
    throw new DomainError('limit_reached', {
      code: 'tenant_licenses_exhausted',
      title: 'No tenant license available',
      detail: `All ${limits.tenantCount} tenant licenses are in use. A Tenant License is a mandatory requirement for onboarding a new customer; remove a customer or extend the license.`,
    });
  }
  if (change.users > 0 && next.users > limits.userCount) {
    throw new DomainError('limit_reached', {
      code: 'user_licenses_exhausted',
      title: 'Not enough user licenses',
      detail: `${change.users} more licensed users were requested but only ${free.availableUsers} of the pool of ${limits.userCount} are available.`,
    });
  }
  return next;
}
