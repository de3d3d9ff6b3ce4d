import type { CustomerService } from '../customers/customer-service.js';
import type { CustomerSiteStore } from '../onboarding/customer-site-store.js';
import type { MirrorCursor, MirrorStore } from '../replication/mirror-store.js';
import type { MirrorUser } from '../replication/mirror-user.js';
import { routingOf } from '../replication/replication-views.js';
import { licenseSubjects } from './license-qualification.js';
import type { LicenseSnapshot, LicenseStore } from './license-store.js';
import { computeLicenseUsage } from './license-usage.js';

export const FACTOR_NOTES = {
  global: 'Note: By default License billing is based on the globally configured License Factors.',
  customer:
    'Note: License billing is based on the local configured License Factors. If you want to restore to default, click here.',
} as const;

export interface LicenseRefreshDeps {
  readonly customers: Pick<CustomerService, 'get'>;
  readonly licenses: LicenseStore;
  readonly mirror: Pick<MirrorStore, 'listUsers' | 'voiceObjects' | 'managedUsers'>;
  readonly sites: Pick<CustomerSiteStore, 'list'>;
}

/** "Refresh Licenses": the customer's usage from its replicated users, voice objects and sites; a history row. */
export async function refreshCustomerLicenses(
  services: LicenseRefreshDeps,
  customerId: string,
): Promise<LicenseSnapshot> {
  const customer = await services.customers.get(customerId);
  const store = services.licenses;
  const { mirror } = services;
  const users: MirrorUser[] = [];
  let cursor: MirrorCursor | undefined;
  do {
    const page = await mirror.listUsers(customer.id, 999, cursor);
    users.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor);
  const [voice, managed] = await Promise.all([
    mirror.voiceObjects(customer.id),
    mirror.managedUsers(customer.id),
  ]);
  const sites = (await services.sites.list(customer.id)).map((s) => s.site);
  const [global, own] = await Promise.all([store.settings(), store.customerFactors(customer.id)]);
  const usage = computeLicenseUsage({
    subjects: licenseSubjects({
      users,
      voice,
      sites,
      gatewayOf: routingOf(voice),
      operatorConnect: false,
      // The users a user template was applied to, and those an operator changed through the user routes.
      byTemplate: managed.byTemplate,
      byUserInterface: managed.byUserInterface,
    }),
    switches: own ?? global.factors,
    acquiredLicenses: customer.licensedUsers,
    totalMonitoredUsers: users.length,
  });
  const snapshot: LicenseSnapshot = {
    ...usage,
    customerId: customer.id,
    calculatedAt: new Date().toISOString(),
    factorsSource: own ? 'customer' : 'global',
  };
  await store.addSnapshot(snapshot);
  return snapshot;
}
