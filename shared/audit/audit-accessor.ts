import type { Services } from '../platform/services.js';
import { type AuditStore, createTableAuditStore } from './audit-store.js';

const stores = new WeakMap<Services, AuditStore>();

export function auditFor(services: Services): AuditStore {
  let store = stores.get(services);
  if (!store) {
    store = createTableAuditStore(services.settings.storageConnectionString);
    stores.set(services, store);
  }
  return store;
}
