import type { CustomerService } from '../customers/customer-service.js';
import type { CustomerSiteStore } from '../onboarding/customer-site-store.js';
import type { MirrorStore } from '../replication/mirror-store.js';
import { routingOf } from '../replication/replication-views.js';
import { licenseSubjects } from './license-qualification.js';
import type { LicenseSnapshot, LicenseStore } from './license-store.js';
import {
  computeLicenseUsage,
  countedFactor,
  type LicenseFactorSwitches,
  type LicenseUsage,
} from './license-usage.js';

export const FACTOR_NOTES = {
  global: 'Note: By default License billing is based on the globally configured License Factors.',
  customer:
    'Note: License billing is based on the local configured License Factors. If you want to restore to default, click here.',
} as const;

export interface LicenseCountDeps {
  readonly licenses: Pick<LicenseStore, 'settings' | 'customerFactors'>;
  readonly mirror: Pick<MirrorStore, 'licenseFacts' | 'voiceObjects'>;
  readonly sites: Pick<CustomerSiteStore, 'list'>;
}

export interface LicenseRefreshDeps extends LicenseCountDeps {
  readonly customers: Pick<CustomerService, 'get'>;
  readonly licenses: LicenseStore;
}

/** A count of the customer's licenses now, with the ids of the users (and service numbers) it counted. */
export interface LicenseCount {
  readonly usage: LicenseUsage;
  readonly counted: ReadonlySet<string>;
  readonly switches: LicenseFactorSwitches;
  readonly factorsSource: 'global' | 'customer';
}

/**
 * Counts the customer's licenses from what is mirrored now: one pass over its users selecting the columns the
 * factors read, its voice objects and its sites. What "Refresh Licenses" shows and what the license gate charges.
 */
export async function countCustomerLicenses(
  services: LicenseCountDeps,
  customer: { readonly id: string; readonly licensedUsers: number },
): Promise<LicenseCount> {
  const { mirror, licenses } = services;
  const [users, voice, sites, global, own] = await Promise.all([
    mirror.licenseFacts(customer.id),
    mirror.voiceObjects(customer.id),
    services.sites.list(customer.id),
    licenses.settings(),
    licenses.customerFactors(customer.id),
  ]);
  const subjects = licenseSubjects({
    users,
    voice,
    sites: sites.map((s) => s.site),
    gatewayOf: routingOf(voice),
    operatorConnect: false,
    // The users a user template was applied to, and those an operator changed through the user routes.
    byTemplate: new Set(users.flatMap((u) => (u.template ? [u.id] : []))),
    byUserInterface: new Set(users.flatMap((u) => (u.edited ? [u.id] : []))),
  });
  const switches = own ?? global.factors;
  const usage = computeLicenseUsage({
    subjects,
    switches,
    acquiredLicenses: customer.licensedUsers,
    totalMonitoredUsers: users.length,
  });
  const counted = new Set(subjects.flatMap((s) => (countedFactor(s, switches) ? [s.id] : [])));
  return { usage, counted, switches, factorsSource: own ? 'customer' : 'global' };
}

/** "Refresh Licenses": the customer's usage from its replicated users, voice objects and sites; a history row. */
export async function refreshCustomerLicenses(
  services: LicenseRefreshDeps,
  customerId: string,
): Promise<LicenseSnapshot> {
  const customer = await services.customers.get(customerId);
  const { usage, factorsSource } = await countCustomerLicenses(services, customer);
  const snapshot: LicenseSnapshot = {
    ...usage,
    customerId: customer.id,
    calculatedAt: new Date().toISOString(),
    factorsSource,
  };
  await services.licenses.addSnapshot(snapshot);
  return snapshot;
}
