import type { Customer } from '../customers/customer.js';
import { LICENSE_TYPE_LABELS, usesLicensedUsers } from '../customers/customer.js';
import type { CustomerService } from '../customers/customer-service.js';
import { DomainError } from '../errors/domain-errors.js';

/**
 * The license gate of day two's user routes (issue 11): the manual's Customer portal menus show "Users" to Hosted
 * Essentials + and Hosted Pro customers only; a Hosted Essentials customer has no Microsoft 365 users to list or
 * change (docs/decisions.md, "Hosted Essentials and users"). Who may call is the route's customer scope.
 */
export const NO_M365_USERS_DOC =
  'The customer is Hosted Essentials: it has no Microsoft 365 users (`no_m365_for_essentials`).';

/** The customer, when its license type has Microsoft 365 users; a conflict with a stable code otherwise. */
export async function customerWithUsers(
  customers: Pick<CustomerService, 'get'>,
  customerId: string,
): Promise<Customer> {
  const customer = await customers.get(customerId);
  assertHasUsers(customer);
  return customer;
}

export function assertHasUsers(customer: Pick<Customer, 'id' | 'licenseType'>): void {
  if (usesLicensedUsers(customer.licenseType)) return;
  throw new DomainError('conflict', {
    code: 'no_m365_for_essentials',
    title: 'No Microsoft 365 users for Hosted Essentials',
    detail:
      `"${customer.id}" is ${LICENSE_TYPE_LABELS[customer.licenseType]}: it has no Microsoft 365 users to ` +
      'manage; upgrade it to Hosted Essentials + or Hosted Pro first.',
  });
}
