import type { Services } from '../platform/services.js';
import { type AccessStore, createTableAccessStore } from './access-store.js';

const stores = new WeakMap<Services, AccessStore>();

/** The access grants of these services' storage, built on first use. */
export function accessFor(services: Services): AccessStore {
  let store = stores.get(services);
  if (!store) {
    store = createTableAccessStore(services.settings.storageConnectionString);
    stores.set(services, store);
  }
  return store;
}
