import type { Customer } from '../customers/customer.js';
import type { TemplateContext } from '../templates/template-context.js';
import type { CustomerSite } from './customer-site.js';
import type { KnownSbc, Region } from './onboarding-settings.js';

export interface SiteContextInput {
  readonly customer: Pick<Customer, 'shortName' | 'fullName'>;
  readonly tenantId: string | null;
  readonly site: CustomerSite;
  /** The DNS page's region (the gateway's domain); the SBC page's region when there is no DNS page. */
  readonly region: Region | null;
  readonly sbc: KnownSbc | null;
  /** Opened for rendering only; a dry run passes a mask. */
  readonly carrierPassword: string;
  /** Script-specific Customer Variables (M365 or SBC page). */
  readonly customVariables: Readonly<Record<string, string>>;
}

/**
 * The script context of a customer's site. Dial-plan rules are named after the customer (the cleanup script
 * removes them by that name) and tagged with the gateway FQDN unless the operator gave a tag.
 */
export function siteTemplateContext(input: SiteContextInput): TemplateContext {
  const { customer, site, region, sbc } = input;
  const gateway = site.gatewayFqdn ?? '';
  const rules = site.prefixes.map((p) => ({
    DialPlanName: p.dialPlanName,
    Name: customer.shortName,
    Prefix: p.prefix,
    Tag: p.tag || gateway,
  }));
  const dialPlans = [...new Set(rules.map((r) => r.DialPlanName))].map((name) => ({
    DialPlanName: name,
    Rules: rules
      .filter((r) => r.DialPlanName === name)
      .map((r) => ({ Name: r.Name, Prefix: r.Prefix, Tag: r.Tag })),
  }));
  const registration = site.sbc?.carrierRegistration ?? null;
  return {
    CustomerId: customer.shortName,
    Customer: { ShortName: customer.shortName, FullName: customer.fullName, TenantId: input.tenantId ?? '' },
    SBC: {
      CarrierID: site.sbc?.carrier ?? '',
      OnlinePstnGateway: gateway,
      SbcSiteName: site.siteName,
      EnableCAC: Boolean(site.sbc?.cacProfile),
      CacProfile: site.sbc?.cacProfile ?? '',
      FlagCarrierRegistration: registration !== null,
      CarrierUserName: registration?.username ?? '',
      CarrierPassword: registration ? input.carrierPassword : '',
      CarrierHostName: registration?.hostName ?? '',
      CarrierMainLine: registration?.mainLine ?? '',
      DialPlanPrefixes: dialPlans,
    },
    Region: {
      Name: region?.name ?? '',
      Fqdn: region?.fqdn ?? '',
      IpAddress: region?.ipAddress ?? '',
      SbcName: sbc?.name ?? '',
    },
    PstnGateway: { Fqdn: gateway },
    Carrier: { Name: site.sbc?.carrier ?? '' },
    Prefixes: rules,
    DialPlanName: dialPlans[0]?.DialPlanName ?? '',
    CmdData: { DialPlanRules: { ToAdd: [] } },
    ToRemove: [],
    PbxUser: {
      create: false,
      delete: false,
      LocalUserName: '',
      Pbxhost: '',
      E164: '',
      PbxExtension: '',
      RegisteringUserName: '',
      RegisteringPassword: '',
    },
    CustomVar: input.customVariables,
  };
}
