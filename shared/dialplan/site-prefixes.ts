import { z } from 'zod';
import { safeDisplayText } from '../validation/display-text.js';
import { type Customer, createCustomerSchema, refuseWhileBeingRemoved } from '../customers/customer.js';
import { domainErrors } from '../errors/domain-errors.js';
import { nullIfNotFound } from '../errors/not-found.js';
import { toFieldErrors } from '../errors/zod-field-errors.js';
import { type CustomerSite, DEFAULT_SCRIPTS } from '../onboarding/customer-site.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import { MAX_PREFIXES, type DialPlanPrefix } from '../onboarding/prefixes.js';
import type { CustomerSiteStore } from '../onboarding/customer-site-store.js';
import type { OnboardingPorts } from '../onboarding/onboarding-ports.js';
import type { OnboardingSettingsReader } from '../onboarding/onboarding-settings-service.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TaskRecord } from '../tasks/task-record.js';
import type { CustomerService } from '../customers/customer-service.js';
import { parseDialPlanFile } from '../sbc/sbc-dial-plans.js';
import { sbcChoiceErrors, sbcChoicesOf, sbcChoicesReader } from '../onboarding/sbc-choices.js';
import {
  assertSiteClaims,
  type SharedResourceDeps,
  writeWithSiteClaims,
} from '../onboarding/shared-resources.js';
import type { CredentialService } from '../credentials/credential-service.js';

/** What the prefix pages and Import Customers work with. */
export interface SitePrefixDeps {
  readonly customers: CustomerService;
  readonly sites: CustomerSiteStore;
  readonly onboardingSettings: Pick<OnboardingSettingsReader, 'regions' | 'region' | 'sbc'>;
  readonly adapters: Pick<OnboardingPorts, 'sbc'>;
  readonly taskEngine: Pick<TaskEngine, 'start'>;
  readonly credentials: Pick<CredentialService, 'get'>;
  /** What other customers hold on the shared SBCs: a site's prefixes and tags may not claim it. */
  readonly siteClaims: SharedResourceDeps;
}

export type SavePrefixesOutcome =
  | { readonly kind: 'queued'; readonly task: TaskRecord }
  | { readonly kind: 'saved'; readonly site: CustomerSite };

/** Starts `SbcUpdatePrefixes` for a customer (Save of its prefixes, or the operator's sync, or its dry run). */
export function startPrefixUpdate(
  services: Pick<SitePrefixDeps, 'taskEngine'>,
  customerId: string,
  options: { readonly dryRun?: boolean } = {},
): Promise<TaskRecord> {
  return services.taskEngine.start({
    type: 'SbcUpdatePrefixes',
    customerId,
    input: { customerId },
    dryRun: options.dryRun ?? false,
  });
}

/**
 * Save of a site's prefixes: the site keeps the new list, and a Deployed customer's SBC follows through
 * `SbcUpdatePrefixes`; before deployment the onboarding script adds them.
 */
export async function saveSitePrefixes(
  services: SitePrefixDeps,
  customerId: string,
  siteName: string,
  prefixes: readonly DialPlanPrefix[],
): Promise<SavePrefixesOutcome> {
  const customer = await services.customers.get(customerId);
  refuseWhileBeingRemoved(customer);
  const sites = services.sites;
  const found = await sites.get(customerId, siteName);
  if (!found) throw domainErrors.notFound(`Customer "${customerId}" has no SBC site "${siteName}".`);
  if (!found.site.sbc) {
    throw domainErrors.conflict(
      'site_without_sbc',
      'The site has no SBC',
      `Site "${siteName}" does not configure an SBC, so it has no dial-plan prefixes.`,
    );
  }
  const others = (await sites.list(customerId))
    .filter((s) => s.site.siteName.toLowerCase() !== siteName.toLowerCase())
    .reduce((n, s) => n + s.site.prefixes.length, 0);
  if (others + prefixes.length > MAX_PREFIXES) {
    throw domainErrors.validation(
      [
        {
          field: 'prefixes',
          in: 'body',
          code: 'too_many_prefixes',
          message: `A customer can have at most ${MAX_PREFIXES} prefixes; its other sites have ${others}.`,
        },
      ],
      'Too many prefixes; nothing was saved.',
    );
  }
  // A dial plan the site's SBC does not have would fail the onboarding or the sync: refused now, with the valid ones.
  const region = await services.onboardingSettings.region(found.site.sbc.regionId);
  const device = region ? await services.onboardingSettings.sbc(region.sbcId) : null;
  if (device) {
    const errors = sbcChoiceErrors(
      await sbcChoicesOf(sbcChoicesReader(services.adapters), device),
      { carrier: null, cacProfile: null, prefixes },
      { carrier: 'carrier', cacProfile: 'cacProfile', prefixes: 'prefixes' },
    );
    if (errors.length > 0) throw domainErrors.validation(errors, 'Unknown dial plans; nothing was saved.');
  }
  const claims = {
    site: { ...found.site, prefixes: [...prefixes] },
    before: found.site,
    tenantId: (await services.credentials.get(customerId))?.tenantId ?? null,
  };
  await assertSiteClaims(services.siteClaims, claims);
  try {
    await writeWithSiteClaims(services.siteClaims, claims, () =>
      sites.replace(
        { ...found.site, prefixes: [...prefixes], updatedAt: new Date().toISOString() },
        found.etag,
      ),
    );
  } catch (error) {
    if (error instanceof VersionConflictError) {
      throw domainErrors.conflict(
        'site_changed',
        'The site changed',
        'The site changed meanwhile; load it and save again.',
      );
    }
    throw error;
  }
  if (customer.state !== 'deployed') {
    const saved = await sites.get(customerId, siteName);
    return { kind: 'saved', site: saved?.site ?? found.site };
  }
  return { kind: 'queued', task: await startPrefixUpdate(services, customerId) };
}

/** A row of Import Customers: one per distinct rule name and tag on the SBC. */
export interface ImportCandidate {
  /** "SBC Customer Name": the rule name, which the imported customer's Short Name inherits. */
  readonly sbcCustomerName: string;
  /** "FQDN PSTN Gateway": the rule's tag (trunk FQDN or Azure tenant id). */
  readonly fqdnPstnGateway: string;
  readonly dialPlans: readonly string[];
  readonly prefixes: number;
  /** A customer of that name exists: importing adds these rules to it. */
  readonly existingCustomer: boolean;
}

/**
 * Import Customers: "Customers that have already been imported to UMP-365 are not displayed, unless the matching tag
 * FQDN PSTN Gateway/Customer Azure Tenant ID are different."
 */
export async function importCandidates(services: SitePrefixDeps, sbcId: string): Promise<ImportCandidate[]> {
  const { client } = await services.adapters.sbc(sbcId);
  // "Download Dial Plan from Managed SBC": the Dial Plan file has every rule, and import needs no row index.
  const rules = parseDialPlanFile(await client.getDialPlan());
  const groups = new Map<string, { name: string; tag: string; plans: Set<string>; count: number }>();
  for (const rule of rules) {
    if (!rule.name) continue;
    const key = `${rule.name.toLowerCase()}\u0000${rule.tag.toLowerCase()}`;
    const group = groups.get(key) ?? { name: rule.name, tag: rule.tag, plans: new Set<string>(), count: 0 };
    group.plans.add(rule.dialPlan);
    group.count++;
    groups.set(key, group);
  }
  const known = new Map<string, Set<string> | null>();
  const tagsOf = async (name: string) => {
    const key = name.toLowerCase();
    if (!known.has(key)) {
      const customer = await nullIfNotFound(services.customers.get(name));
      if (!customer) known.set(key, null);
      else {
        const tags = new Set<string>();
        for (const { site } of await services.sites.list(customer.id)) {
          if (site.gatewayFqdn) tags.add(site.gatewayFqdn.toLowerCase());
          for (const p of site.prefixes) if (p.tag) tags.add(p.tag.toLowerCase());
        }
        known.set(key, tags);
      }
    }
    return known.get(key) ?? null;
  };
  const candidates: ImportCandidate[] = [];
  for (const group of groups.values()) {
    const tags = await tagsOf(group.name);
    if (tags?.has(group.tag.toLowerCase())) continue;
    candidates.push({
      sbcCustomerName: group.name,
      fqdnPstnGateway: group.tag,
      dialPlans: [...group.plans].sort(),
      prefixes: group.count,
      existingCustomer: tags !== null,
    });
  }
  return candidates.sort(
    (a, b) =>
      a.sbcCustomerName.localeCompare(b.sbcCustomerName) ||
      a.fqdnPstnGateway.localeCompare(b.fqdnPstnGateway),
  );
}

export const importCustomerSchema = z.strictObject({
  sbcCustomerName: z.string().min(1).max(64).meta({ description: 'The rule name: the new Short Name.' }),
  fqdnPstnGateway: z.string().min(1).max(253).meta({ description: "The rules' tag." }),
  customerFullName: safeDisplayText(z.string().trim().min(1).max(256), 'Customer Full Name')
    .optional()
    .meta({ description: 'Customer Full Name.' }),
  cleanupTemplateId: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'is a script template id.')
    .default(DEFAULT_SCRIPTS.sbcCleanup)
    .meta({ description: 'The SBC Cleanup Script run when the customer is removed.' }),
});
export type ImportCustomerInput = z.output<typeof importCustomerSchema>;

const FQDN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * [Import]: "A new customer is automatically created in the process" (Hosted Essentials, Deployed: its rules are on
 * the SBC already), its Short Name inheriting the rule name; a customer imported before gets the rules of the other
 * tag on the same site. From then on the dial-plan sync keeps these rules, exactly as they were found.
 */
export async function importCustomer(
  services: SitePrefixDeps,
  sbcId: string,
  input: ImportCustomerInput,
): Promise<{ readonly customer: Customer; readonly site: CustomerSite; readonly created: boolean }> {
  const region = (await services.onboardingSettings.regions()).find((r) => r.sbcId === sbcId);
  if (!region) {
    throw domainErrors.conflict(
      'no_region_for_sbc',
      'No region uses this SBC',
      `No region (DNS sub domain Mapping) names SBC "${sbcId}"; add one, then import.`,
    );
  }
  const { client } = await services.adapters.sbc(sbcId);
  const name = input.sbcCustomerName.toLowerCase();
  const tag = input.fqdnPstnGateway.toLowerCase();
  const rules = parseDialPlanFile(await client.getDialPlan()).filter(
    (r) => r.name.toLowerCase() === name && r.tag.toLowerCase() === tag,
  );
  if (rules.length === 0) {
    throw domainErrors.notFound(
      `SBC "${sbcId}" has no dial-plan rule named "${input.sbcCustomerName}" tagged "${input.fqdnPstnGateway}".`,
    );
  }
  let customer = await nullIfNotFound(services.customers.get(input.sbcCustomerName));
  const created = customer === null;
  if (!customer) {
    const parsed = createCustomerSchema.safeParse({
      fullName: input.customerFullName ?? input.sbcCustomerName,
      shortName: input.sbcCustomerName,
      licenseType: 'hosted-essentials',
    });
    if (!parsed.success) {
      throw domainErrors.validation(
        toFieldErrors(parsed.error, 'body', input).map((e) => ({
          ...e,
          field:
            e.field === 'shortName'
              ? 'sbcCustomerName'
              : e.field === 'fullName'
                ? 'customerFullName'
                : e.field,
        })),
        'The rule name cannot be a Short Name; nothing was imported.',
      );
    }
    await services.customers.create(parsed.data);
    customer = await services.customers.setState(parsed.data.shortName, 'deployed');
  }
  const prefixes: DialPlanPrefix[] = rules.map((r) => ({
    dialPlanName: r.dialPlan,
    prefix: r.prefix,
    tag: r.tag,
  }));
  const sites = services.sites;
  const existing = await sites.get(customer.id, customer.shortName);
  const now = new Date().toISOString();
  if (existing) {
    const merged = [...existing.site.prefixes, ...prefixes];
    const unique = [
      ...new Map(
        merged.map((p) => [`${p.dialPlanName.toLowerCase()}\n${p.prefix}\n${p.tag.toLowerCase()}`, p]),
      ).values(),
    ];
    const site = { ...existing.site, prefixes: unique, updatedAt: now };
    await sites.replace(site, existing.etag);
    return { customer, site, created };
  }
  const site: CustomerSite = {
    customerId: customer.id,
    siteName: customer.shortName,
    gatewayFqdn: FQDN.test(tag) ? tag : null,
    dns: null,
    m365Routing: null,
    sbc: {
      configuration: 'sip-trunk',
      regionId: region.id,
      carrier: null,
      carrierRegistration: null,
      cacProfile: null,
      onboardingTemplateId: DEFAULT_SCRIPTS.sbcOnboarding,
      cleanupTemplateId: input.cleanupTemplateId,
      customVariables: {},
    },
    prefixes,
    gatewayCreated: false,
    createdAt: now,
    updatedAt: now,
  };
  await sites.create(site);
  return { customer, site, created };
}
