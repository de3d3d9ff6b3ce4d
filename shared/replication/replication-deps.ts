import type { Settings } from '../config/settings.js';
import type { CustomerActivityRecorder } from '../customers/customer-activity.js';
import type { CustomerService } from '../customers/customer-service.js';
import { isDomainError } from '../errors/domain-errors.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import type { CustomerSiteStore } from '../onboarding/customer-site-store.js';
import type { ScriptTemplateService } from '../templates/script-template-service.js';
import type { DesiredVoiceObject } from '../voice/voice-change-store.js';
import { computeDrift } from './drift.js';
import { createM365Reader } from './m365-reader.js';
import type { ReplicationDeps } from './replication-service.js';

/** What replication is built from: its stores and queue, and the product services it reads. */
export interface ReplicationSources extends Pick<
  ReplicationDeps,
  'store' | 'mirror' | 'queue' | 'credentials' | 'credentialStore' | 'alarms'
> {
  readonly settings: Pick<Settings, 'replication' | 'endpoints'>;
  readonly customers: Pick<CustomerService, 'get'>;
  /** The Tenants list's summary: Replication in progress and last replication. */
  readonly activity: Pick<CustomerActivityRecorder, 'cycleChanged' | 'replicated'>;
  readonly transport: TrustedTransport;
  readonly sites: Pick<CustomerSiteStore, 'list'>;
  readonly templates: Pick<ScriptTemplateService, 'render'>;
  /** The voice objects' desired state (day two's changes), which drift compares Teams with. */
  readonly desired: (customerId: string) => Promise<readonly DesiredVoiceObject[]>;
  readonly afterCycle?: ReplicationDeps['afterCycle'];
}

/** Replication's dependencies from the product's; tests replace some (the reader's transport). */
export function replicationDeps(services: ReplicationSources): ReplicationDeps {
  const { settings, sites, templates } = services;
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
    store: noteCycles(services.store, services.activity),
    mirror: services.mirror,
    queue: services.queue,
    credentials: services.credentials,
    credentialStore: services.credentialStore,
    alarms: services.alarms,
    customerExists: async (customerId) => (await customer(customerId)) !== null,
    noteReplicated: (customerId, at) => services.activity.replicated(customerId, at),
    ...(services.afterCycle ? { afterCycle: services.afterCycle } : {}),
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
          desired: (customerId) => services.desired(customerId),
        },
        input,
      ),
  };
}

/**
 * The store with the Tenants list told when a cycle's checkpoint appears and goes: the checkpoint is the truth of
 * "Replication in progress", and every way a cycle ends deletes it. A note lost to a crash is the reconciliation's.
 */
function noteCycles(
  store: ReplicationSources['store'],
  activity: Pick<CustomerActivityRecorder, 'cycleChanged'>,
): ReplicationSources['store'] {
  return {
    ...store,
    async createCycle(customerId, cycle) {
      const etag = await store.createCycle(customerId, cycle);
      if (etag) await activity.cycleChanged(customerId, true);
      return etag;
    },
    async deleteCycle(customerId, etag) {
      await store.deleteCycle(customerId, etag);
      await activity.cycleChanged(customerId, false);
    },
  };
}
