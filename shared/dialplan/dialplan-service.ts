import { randomUUID } from 'node:crypto';
import type { OnboardingPorts } from '../onboarding/onboarding-ports.js';
import { createLeases, type TableLeases } from '../storage/table-lease.js';
import type { Tables } from '../storage/versioned-table.js';
import { TransientTaskError } from '../tasks/task-definition.js';
import type { ScriptTemplateService } from '../templates/script-template-service.js';
import type { TemplateContext } from '../templates/template-context.js';
import { type DeviceRule, deviceDialPlans } from './dialplan-diff.js';
import { type DialPlanOwnerDeps, dialPlanOwners } from './dialplan-owners.js';
import {
  applyDialPlanScripts,
  type DialPlanRefusal,
  type DialPlanScript,
  type DialPlanSyncPlan,
  ownerRulesOnDevice,
  planDialPlanSync,
} from './dialplan-sync.js';
import { createPrefixCacheStore, type PrefixCacheStore } from './prefix-cache-store.js';

export const SBC_LOCKS_TABLE = 'sbclocks';
/** Longer than any sync of 50,000 rules takes; a crashed holder's SBC is free again after it. */
const LOCK_SECONDS = 300;

export const FROM_CACHE_MESSAGE =
  'Prefixes shown below are from cache. Press Reload to refresh them from SBC.';

export interface SbcSyncResult {
  readonly sbcId: string;
  readonly plan: DialPlanSyncPlan;
  /** Scripts applied (none in a dry run). */
  readonly applied: number;
  /** The rule changes the SBC refused while it applied the rest: the next sync sends them again. */
  readonly refused: readonly DialPlanRefusal[];
}

export interface SyncOptions {
  /** Only this customer's rules. */
  readonly customerId?: string;
  readonly dryRun?: boolean;
  readonly rulesPerScript?: number;
  readonly onApplied?: (script: DialPlanScript, refused: readonly DialPlanRefusal[]) => void | Promise<void>;
}

export interface CustomerPrefixes {
  readonly message: string;
  readonly value: ReadonlyArray<DeviceRule & { readonly sbcId: string }>;
  /** The oldest read among the customer's SBCs; null when never read. */
  readonly cachedAt: string | null;
}

export interface DialPlanService {
  /** One SBC: read it, compare, apply. A TransientTaskError while another sync holds the SBC. */
  syncSbc(sbcId: string, options?: SyncOptions): Promise<SbcSyncResult>;
  /** Every SBC one customer's (or, without one, any customer's) sites use. */
  syncAll(options?: SyncOptions): Promise<SbcSyncResult[]>;
  /** "Prefixes shown below are from cache." */
  cached(customerId: string): Promise<CustomerPrefixes>;
  /** Reload: the customer's rules read from each of its SBCs into the cache. */
  reload(customerId: string): Promise<CustomerPrefixes>;
}

export interface DialPlanDeps extends DialPlanOwnerDeps {
  readonly adapters: Pick<OnboardingPorts, 'sbc'>;
  readonly templates: Pick<ScriptTemplateService, 'render'>;
  /** The last read of each customer's rules per SBC. */
  readonly cache: PrefixCacheStore;
  /** One sync per SBC at a time, across instances. */
  readonly leases: TableLeases;
}

/** The stores of the dial-plan feature, from the storage account. */
export function dialPlanStores(tables: Tables): Pick<DialPlanDeps, 'cache' | 'leases'> {
  return {
    cache: createPrefixCacheStore(tables),
    leases: createLeases(tables, SBC_LOCKS_TABLE),
  };
}

export function createDialPlanService(services: DialPlanDeps): DialPlanService {
  const { cache, leases } = services;
  const ports = services.adapters;
  const render = async (templateId: string, context: TemplateContext) =>
    (await services.templates.render(templateId, context)).text;
  const now = () => new Date().toISOString();

  async function customerSbcs(customerId: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const { site } of await services.sites.list(customerId)) {
      if (!site.sbc) continue;
      const region = await services.onboardingSettings.region(site.sbc.regionId);
      if (region) ids.add(region.sbcId);
    }
    return [...ids].sort();
  }

  async function view(customerId: string): Promise<CustomerPrefixes> {
    const entries = await cache.list(customerId);
    return {
      message: FROM_CACHE_MESSAGE,
      value: entries.flatMap((e) => e.rules.map((r) => ({ ...r, sbcId: e.sbcId }))),
      cachedAt: entries.length === 0 ? null : (entries.map((e) => e.cachedAt).sort()[0] ?? null),
    };
  }

  async function syncSbc(sbcId: string, options: SyncOptions = {}): Promise<SbcSyncResult> {
    const owners =
      (
        await dialPlanOwners(services, {
          sbcId,
          ...(options.customerId ? { customerId: options.customerId } : {}),
        })
      ).find((o) => o.sbcId === sbcId)?.owners ?? [];
    const { client } = await ports.sbc(sbcId);
    if (options.dryRun) {
      const plan = await planDialPlanSync(client, owners, render, options);
      return { sbcId, plan, applied: 0, refused: [] };
    }
    const lease = await leases.acquire(sbcId, randomUUID(), LOCK_SECONDS);
    if (!lease) throw new TransientTaskError(`Another dial-plan sync of SBC ${sbcId} is running.`, 5_000);
    try {
      const plan = await planDialPlanSync(client, owners, render, options);
      let applied = 0;
      const refused = await applyDialPlanScripts(client, plan.scripts, async (script, mine) => {
        applied++;
        await options.onApplied?.(script, mine);
      });
      // Adding assigns row indexes: the cache wants the device's, so it reads the device again after a change.
      const device = applied > 0 ? deviceDialPlans(await client.getCliScript()) : plan.device;
      const cachedAt = now();
      for (const owner of owners) {
        await cache.put({
          customerId: owner.owner,
          sbcId,
          rules: ownerRulesOnDevice(device, owner.owner),
          cachedAt,
        });
      }
      return { sbcId, plan, applied, refused };
    } finally {
      await leases.release(lease);
    }
  }

  return {
    syncSbc,

    async syncAll(options = {}) {
      const sbcIds = options.customerId
        ? await customerSbcs(options.customerId)
        : (await dialPlanOwners(services)).map((o) => o.sbcId).sort();
      const results: SbcSyncResult[] = [];
      for (const sbcId of sbcIds) results.push(await syncSbc(sbcId, options));
      return results;
    },

    cached: view,

    async reload(customerId) {
      const customer = await services.customers.get(customerId);
      for (const sbcId of await customerSbcs(customerId)) {
        const { client } = await ports.sbc(sbcId);
        const device = deviceDialPlans(await client.getCliScript());
        await cache.put({
          customerId,
          sbcId,
          rules: ownerRulesOnDevice(device, customer.shortName),
          cachedAt: now(),
        });
      }
      return view(customerId);
    },
  };
}
