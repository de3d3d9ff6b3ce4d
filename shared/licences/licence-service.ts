import { sitesFor } from '../onboarding/tasks/onboarding-job.js';
import type { Services } from '../platform/services.js';
import { createMirrorStore, type MirrorCursor, type MirrorUser } from '../replication/mirror-store.js';
import { routingOf } from '../replication/replication-views.js';
import { licenceSubjects } from './licence-qualification.js';
import { createTableLicenceStore, type LicenceSnapshot, type LicenceStore } from './licence-store.js';
import { computeLicenceUsage } from './licence-usage.js';

export const FACTOR_NOTES = {
  global: 'Note: By default License billing is based on the globally configured License Factors.',
  customer:
    'Note: License billing is based on the local configured License Factors. If you want to restore to default, click here.',
} as const;

const stores = new WeakMap<Services, LicenceStore>();

export function licencesFor(services: Services): LicenceStore {
  let store = stores.get(services);
  if (!store) {
    store = createTableLicenceStore(services.settings.storageConnectionString);
    stores.set(services, store);
  }
  return store;
}

/** "Refresh Licenses": the customer's usage from its replicated users, voice objects and sites; a history row. */
export async function refreshCustomerLicences(
  services: Services,
  customerId: string,
): Promise<LicenceSnapshot> {
  const customer = await services.customers.get(customerId);
  const store = licencesFor(services);
  const mirror = createMirrorStore(services.settings.storageConnectionString);
  const users: MirrorUser[] = [];
  let cursor: MirrorCursor | undefined;
  do {
    const page = await mirror.listUsers(customer.id, 999, cursor);
    users.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor);
  const voice = await mirror.voiceObjects(customer.id);
  const sites = (await sitesFor(services).list(customer.id)).map((s) => s.site);
  const [global, own] = await Promise.all([store.settings(), store.customerFactors(customer.id)]);
  const usage = computeLicenceUsage({
    subjects: licenceSubjects({
      users,
      voice,
      sites,
      gatewayOf: routingOf(voice),
      operatorConnect: false,
      // Lifecycle templates and per-user edits are not part of the product yet: nobody qualifies through them.
      byTemplate: new Set(),
      byUserInterface: new Set(),
    }),
    switches: own ?? global.factors,
    acquiredLicenses: customer.licensedUsers,
    totalMonitoredUsers: users.length,
  });
  const snapshot: LicenceSnapshot = {
    ...usage,
    customerId: customer.id,
    calculatedAt: new Date().toISOString(),
    factorsSource: own ? 'customer' : 'global',
  };
  await store.addSnapshot(snapshot);
  return snapshot;
}
