import { createTableCredentialStore } from '../credentials/credential-store.js';
import { isDomainError } from '../errors/domain-errors.js';
import { createTableCustomerSiteStore } from '../onboarding/customer-site-store.js';
import { getServices, type Services } from '../platform/services.js';
import { createJsonQueue } from '../storage/json-queue.js';
import { scriptTemplatesFor } from '../templates/script-templates-accessor.js';
import { computeDrift } from './drift.js';
import { createM365Reader } from './m365-reader.js';
import { createMirrorStore } from './mirror-store.js';
import { createReplicationStore, REPLICATION_QUEUE } from './replication-store.js';
import {
  createReplicationService,
  type ReplicationDeps,
  type ReplicationMessage,
  type ReplicationService,
} from './replication-service.js';

/** Replication's dependencies from the process's services; tests replace some (the reader's transport). */
export function replicationDeps(services: Services): ReplicationDeps {
  const { settings } = services;
  const connection = settings.storageConnectionString;
  const sites = createTableCustomerSiteStore(connection);
  const templates = scriptTemplatesFor(services);
  const customer = async (customerId: string) => {
    try {
      return await services.customers.get(customerId);
    } catch (error) {
      if (isDomainError(error, 'not_found')) return null;
      throw error;
    }
  };
  return {
    settings: settings.replication,
    store: createReplicationStore(connection),
    mirror: createMirrorStore(connection),
    queue: createJsonQueue<ReplicationMessage>(connection, REPLICATION_QUEUE),
    credentials: services.credentials,
    credentialStore: createTableCredentialStore(connection),
    alarms: services.alarms,
    customerExists: async (customerId) => (await customer(customerId)) !== null,
    reader: (credential) =>
      createM365Reader({
        graphBaseUrl: settings.endpoints.graph,
        teamsAdminBaseUrl: settings.endpoints.teamsAdmin,
        credential,
        transport: services.transport,
      }),
    drift: (input) =>
      computeDrift(
        {
          customer,
          tenantId: async (customerId) => (await services.credentials.get(customerId))?.tenantId ?? null,
          sites: async (customerId) => (await sites.list(customerId)).map((v) => v.site),
          render: (templateId, context) => templates.render(templateId, context),
        },
        input,
      ),
  };
}

const byServices = new WeakMap<Services, ReplicationService>();

/** The replication service of these services, built on first use. */
export function replicationFor(services: Services): ReplicationService {
  let service = byServices.get(services);
  if (!service) {
    service = createReplicationService(replicationDeps(services));
    byServices.set(services, service);
  }
  return service;
}

/**
 * What other features call after they change a customer's Microsoft 365 side (numbers, policies, users): a quick
 * replication cycle follows once the customer has been quiet for QuickReplicationCycleDelay.
 */
export async function noteCustomerChanged(customerId: string): Promise<void> {
  await replicationFor(await getServices()).noteCustomerChanged(customerId);
}
