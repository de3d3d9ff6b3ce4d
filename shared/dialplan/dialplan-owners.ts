import type { Customer } from '../customers/customer.js';
import type { KnownSbc, Region } from '../onboarding/onboarding-settings.js';
import { siteTemplateContext } from '../onboarding/site-context.js';
import type { CredentialService } from '../credentials/credential-service.js';
import type { CustomerService } from '../customers/customer-service.js';
import type { CustomerSiteStore } from '../onboarding/customer-site-store.js';
import type { OnboardingSettingsReader } from '../onboarding/onboarding-settings-service.js';
import type { OwnerRules } from './dialplan-sync.js';
import { nullIfNotFound } from '../errors/not-found.js';

/** The customers of one SBC whose dial-plan rules the product keeps in step. */
export interface SbcOwners {
  readonly sbcId: string;
  readonly owners: readonly OwnerRules[];
}

export interface OwnerFilter {
  /** Only this customer's rules (Save of its prefixes); else every customer's. */
  readonly customerId?: string;
  /** Only this SBC. */
  readonly sbcId?: string;
}

/**
 * The wanted rules per SBC, from the customers' SBC sites. Only Deployed customers: before the onboarding script has
 * run, the rules are its to add (a sync then would add them twice); during removal, its cleanup's to delete.
 */
export interface DialPlanOwnerDeps {
  readonly sites: CustomerSiteStore;
  readonly customers: Pick<CustomerService, 'get'>;
  readonly credentials: Pick<CredentialService, 'get'>;
  readonly onboardingSettings: Pick<OnboardingSettingsReader, 'region' | 'sbc'>;
}

export async function dialPlanOwners(
  services: DialPlanOwnerDeps,
  filter: OwnerFilter = {},
): Promise<SbcOwners[]> {
  const sites = services.sites;
  const stored = filter.customerId ? await sites.list(filter.customerId) : await sites.listAll();
  const customers = new Map<string, Customer | null>();
  const regions = new Map<string, Region | null>();
  const devices = new Map<string, KnownSbc | null>();
  const bySbc = new Map<string, Map<string, OwnerRules>>();
  for (const { site } of stored) {
    if (!site.sbc) continue;
    const regionId = site.sbc.regionId;
    if (!regions.has(regionId)) regions.set(regionId, await services.onboardingSettings.region(regionId));
    const region = regions.get(regionId);
    if (!region || (filter.sbcId && region.sbcId !== filter.sbcId)) continue;
    const key = site.customerId.toLowerCase();
    if (!customers.has(key)) {
      customers.set(key, await nullIfNotFound(services.customers.get(site.customerId)));
    }
    const customer = customers.get(key);
    if (!customer || customer.state !== 'deployed') continue;
    if (!devices.has(region.sbcId))
      devices.set(region.sbcId, await services.onboardingSettings.sbc(region.sbcId));
    const device = devices.get(region.sbcId) ?? null;
    if (!device) continue;
    const credential = await services.credentials.get(site.customerId);
    const context = siteTemplateContext({
      customer,
      tenantId: credential?.tenantId ?? null,
      site,
      region,
      sbc: device,
      carrierPassword: '',
      customVariables: site.sbc.customVariables,
    });
    const rules = context.Prefixes.map((p) => ({
      dialPlan: p.DialPlanName,
      name: p.Name,
      prefix: p.Prefix,
      tag: p.Tag,
    }));
    const owners = bySbc.get(region.sbcId) ?? new Map<string, OwnerRules>();
    const existing = owners.get(key);
    owners.set(
      key,
      existing
        ? { ...existing, rules: [...existing.rules, ...rules] }
        : { owner: customer.shortName, rules, context },
    );
    bySbc.set(region.sbcId, owners);
  }
  return [...bySbc].map(([sbcId, owners]) => ({ sbcId, owners: [...owners.values()] }));
}
