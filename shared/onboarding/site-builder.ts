import { z } from 'zod';
import { LICENSE_TYPE_LABELS, type LicenseType } from '../customers/customer.js';
import { shortNameViolations } from '../customers/short-name.js';
import { domainErrors, type FieldError } from '../errors/domain-errors.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { ScriptTemplateService } from '../templates/script-template-service.js';
import type { ScriptType } from '../templates/script-types.js';
import { type CustomerSite, DEFAULT_SCRIPTS, gatewayFqdnOf, sealedRegistration } from './customer-site.js';
import type { OnboardingSettingsReader } from './onboarding-settings-service.js';
import { dedupe, type DialPlanPrefix, dialPlanPrefixSchema, MAX_PREFIXES } from './prefixes.js';
import {
  SBC_CONFIGURATION_LABELS,
  type SbcConfiguration,
  sbcConfigurationsFor,
  sbcSiteInputSchema,
} from './sbc-site.js';
import { dnsPageSchema, m365RoutingPageSchema, sbcScriptsPageSchema } from './wizard-pages.js';
import { nullIfNotFound } from '../errors/not-found.js';
import { sbcChoiceErrors, type SbcChoicesReader, sbcChoicesOf } from './sbc-choices.js';

/** The pages after Microsoft 365 Settings, as the wizard keeps them or as Add SBC Site sends them. */
export interface SitePages {
  readonly siteName: string;
  readonly dns: z.output<typeof dnsPageSchema> | null;
  readonly m365Routing: z.output<typeof m365RoutingPageSchema> | null;
  readonly sbc: {
    readonly configureSbc: boolean;
    readonly onlinePstnGateway: string | null;
    readonly sbcConfiguration: SbcConfiguration | null;
    readonly regionId: string | null;
    readonly carrier: string | null;
    readonly carrierRegistration: {
      readonly username: string;
      readonly password: string;
      readonly mainLine: string;
      readonly hostName: string;
    } | null;
    readonly cacProfile: string | null;
  } | null;
  readonly prefixes: readonly DialPlanPrefix[];
  readonly sbcScripts: z.output<typeof sbcScriptsPageSchema> | null;
}

/** Add SBC Site: the same pages as the wizard, in one body. */
export const addSiteSchema = z
  .strictObject({
    siteName: z
      .string({ error: 'Sbc Site Name is required.' })
      .trim()
      .superRefine((value, ctx) => {
        for (const v of shortNameViolations(value))
          ctx.addIssue({
            code: 'custom',
            message: v.message.replace('Short Name', 'Sbc Site Name'),
            params: { code: v.code },
          });
      }),
    dns: dnsPageSchema.optional(),
    m365Routing: m365RoutingPageSchema.optional(),
    sbc: sbcSiteInputSchema.optional(),
    prefixes: z
      .array(dialPlanPrefixSchema)
      .max(MAX_PREFIXES, `At most ${MAX_PREFIXES} prefixes per customer.`)
      .default([]),
    sbcScripts: sbcScriptsPageSchema.optional(),
  })
  .meta({ id: 'NewSbcSite' });
export type AddSiteInput = z.output<typeof addSiteSchema>;

export function pagesFromAddSite(input: AddSiteInput): SitePages {
  return {
    siteName: input.siteName,
    dns: input.dns ?? null,
    m365Routing: input.m365Routing ?? null,
    sbc: input.sbc
      ? {
          configureSbc: input.sbc.configureSbc,
          onlinePstnGateway: input.sbc.onlinePstnGateway ?? null,
          sbcConfiguration: input.sbc.sbcConfiguration ?? null,
          regionId: input.sbc.regionId ?? null,
          carrier: input.sbc.carrier ?? null,
          carrierRegistration: input.sbc.carrierRegistration ?? null,
          cacProfile: input.sbc.cacProfile ?? null,
        }
      : null,
    prefixes: dedupe(input.prefixes),
    sbcScripts: input.sbcScripts ?? null,
  };
}

export interface BuildSiteDeps {
  readonly settings: OnboardingSettingsReader;
  readonly templates: ScriptTemplateService;
  readonly secretBox: SecretBox;
  /** The SBC's carriers, CAC profiles and dial plans: what its onboarding script will accept. */
  readonly sbcChoices: SbcChoicesReader;
  readonly now: Date;
}

/**
 * Checks the pages against each other and the provider's configuration and returns the site to store. Every
 * problem is reported at once, as a validation problem naming the field; nothing is written here.
 */
export async function buildSite(
  customer: { readonly shortName: string; readonly licenseType: LicenseType; readonly connected: boolean },
  pages: SitePages,
  deps: BuildSiteDeps,
): Promise<CustomerSite> {
  const errors: FieldError[] = [];
  const fail = (field: string, code: string, message: string) =>
    errors.push({ field, in: 'body', code, message });
  const essentials = customer.licenseType === 'hosted-essentials';

  let dns = pages.dns;
  if (dns && essentials && dns.method !== 'manual') {
    fail(
      'dns.method',
      'not_offered',
      'Hosted Essentials customers have no Microsoft 365 side: use manual DNS.',
    );
  }
  if (
    !essentials &&
    !customer.connected &&
    ((dns?.method !== 'manual' && dns !== null) || pages.m365Routing?.configure)
  ) {
    fail('connection', 'not_connected', "Connect the customer's Microsoft 365 tenant first.");
  }
  let gatewayFqdn: string | null = null;
  if (dns && dns.method !== 'manual' && dns.regionId) {
    const region = await deps.settings.region(dns.regionId);
    if (!region) fail('dns.regionId', 'unknown_region', `There is no region "${dns.regionId}".`);
    else gatewayFqdn = gatewayFqdnOf(pages.siteName, region.fqdn);
  }
  if (dns?.method === 'manual') gatewayFqdn = dns.onlinePstnGateway ?? null;
  if (dns?.licensePlan) {
    const plans = await deps.settings.licensePlans();
    if (!plans.some((p) => p.name === dns?.licensePlan)) {
      fail(
        'dns.licensePlan',
        'unknown_license_plan',
        `"${dns.licensePlan}" is not an eligible license plan.`,
      );
    }
  }
  gatewayFqdn ??= pages.m365Routing?.onlinePstnGateway ?? pages.sbc?.onlinePstnGateway ?? null;
  if (
    pages.m365Routing?.onlinePstnGateway &&
    gatewayFqdn &&
    pages.m365Routing.onlinePstnGateway !== gatewayFqdn
  ) {
    fail(
      'm365Routing.onlinePstnGateway',
      'gateway_mismatch',
      `The DNS page provisions ${gatewayFqdn}; route to that gateway.`,
    );
  }

  const routing = pages.m365Routing?.configure ? pages.m365Routing : null;
  if (routing && essentials) {
    fail(
      'm365Routing.configure',
      'not_offered',
      'Hosted Essentials customers have no Microsoft 365 routing.',
    );
  }
  if (routing && !gatewayFqdn) {
    fail(
      'm365Routing.onlinePstnGateway',
      'required',
      'Select the Online PSTN Gateway, or provision one on the DNS page.',
    );
  }
  const m365Onboarding = routing?.onboardingTemplateId ?? DEFAULT_SCRIPTS.m365Onboarding;
  const m365Cleanup = routing?.cleanupTemplateId ?? DEFAULT_SCRIPTS.m365Cleanup;
  if (routing) {
    await checkTemplate(
      deps.templates,
      m365Onboarding,
      'm365-onboarding',
      'm365Routing.onboardingTemplateId',
      fail,
    );
    await checkTemplate(deps.templates, m365Cleanup, 'm365-cleanup', 'm365Routing.cleanupTemplateId', fail);
  }

  const sbcPage = pages.sbc?.configureSbc ? pages.sbc : null;
  let sbc: CustomerSite['sbc'] = null;
  if (sbcPage) {
    const allowed = sbcConfigurationsFor(customer.licenseType);
    if (!sbcPage.sbcConfiguration || !allowed.includes(sbcPage.sbcConfiguration)) {
      fail(
        'sbc.sbcConfiguration',
        'not_offered',
        `${LICENSE_TYPE_LABELS[customer.licenseType]} offers ${allowed.map((c) => SBC_CONFIGURATION_LABELS[c]).join(' and ')}.`,
      );
    }
    const region = sbcPage.regionId ? await deps.settings.region(sbcPage.regionId) : null;
    const device = region ? await deps.settings.sbc(region.sbcId) : null;
    if (!region) fail('sbc.regionId', 'unknown_region', 'Select an SBC from list.');
    else if (!device) {
      fail('sbc.regionId', 'unknown_sbc', `The region "${region.name}" names no Known SBC.`);
    } else {
      errors.push(
        ...sbcChoiceErrors(
          await sbcChoicesOf(deps.sbcChoices, device),
          { carrier: sbcPage.carrier, cacProfile: sbcPage.cacProfile, prefixes: pages.prefixes },
          { carrier: 'sbc.carrier', cacProfile: 'sbc.cacProfile', prefixes: 'prefixes' },
        ),
      );
    }
    const onboarding = pages.sbcScripts?.onboardingTemplateId ?? DEFAULT_SCRIPTS.sbcOnboarding;
    const cleanup = pages.sbcScripts?.cleanupTemplateId ?? DEFAULT_SCRIPTS.sbcCleanup;
    await checkTemplate(
      deps.templates,
      onboarding,
      'sbc-onboarding',
      'sbcScripts.onboardingTemplateId',
      fail,
    );
    await checkTemplate(deps.templates, cleanup, 'sbc-cleanup', 'sbcScripts.cleanupTemplateId', fail);
    const registration = sbcPage.carrierRegistration;
    sbc = {
      configuration: sbcPage.sbcConfiguration ?? 'sip-trunk',
      regionId: sbcPage.regionId ?? '',
      carrier: sbcPage.carrier,
      carrierRegistration: registration
        ? sealedRegistration(deps.secretBox, registration, customer.shortName, pages.siteName)
        : null,
      cacProfile: sbcPage.cacProfile,
      onboardingTemplateId: onboarding,
      cleanupTemplateId: cleanup,
      customVariables: pages.sbcScripts?.customVariables ?? {},
    };
    if (!gatewayFqdn) {
      fail('sbc.onlinePstnGateway', 'required', 'Select the Online PSTN Gateway the SBC routes to.');
    }
  }
  if (errors.length > 0) throw domainErrors.validation(errors);
  dns = dns && (dns.method === 'manual' || !essentials) ? dns : null;
  const at = deps.now.toISOString();
  return {
    customerId: customer.shortName,
    siteName: pages.siteName,
    gatewayFqdn,
    dns: dns
      ? { method: dns.method, regionId: dns.regionId ?? null, licensePlan: dns.licensePlan ?? null }
      : null,
    m365Routing: routing
      ? {
          onboardingTemplateId: m365Onboarding,
          cleanupTemplateId: m365Cleanup,
          customVariables: routing.customVariables,
        }
      : null,
    sbc,
    prefixes: pages.prefixes,
    gatewayCreated: false,
    createdAt: at,
    updatedAt: at,
  };
}

/** Reports (through `fail`) a script that does not exist or is of another type. */
export async function checkTemplate(
  templates: ScriptTemplateService,
  id: string,
  type: ScriptType,
  field: string,
  fail: (field: string, code: string, message: string) => void,
): Promise<void> {
  const template = await nullIfNotFound(templates.get(id));
  if (!template) fail(field, 'unknown_template', `There is no script "${id}".`);
  else if (template.type !== type)
    fail(field, 'wrong_template_type', `"${id}" is a ${template.type} script, not ${type}.`);
}
