import type { SecretBox } from '../secrets/secret-box.js';
import type { DialPlanPrefix } from './prefixes.js';
import type { SbcConfiguration } from './sbc-site.js';
import type { DnsMethod } from './wizard-pages.js';

/**
 * A customer's SBC site (the manual's "Site location"): what the wizard's pages after Microsoft 365 Settings chose,
 * kept after Submit so that onboarding, Add SBC Site, re-runs and removal all work from the same record.
 */
export interface CustomerSite {
  readonly customerId: string;
  /** The Sbc Site Name; the gateway is `<siteName>.<region Fqdn>`. Cannot change once the gateway exists. */
  readonly siteName: string;
  /** The Online PSTN Gateway FQDN, lower case; null when neither DNS nor routing named one. */
  readonly gatewayFqdn: string | null;
  readonly dns: SiteDns | null;
  readonly m365Routing: SiteM365Routing | null;
  readonly sbc: SiteSbc | null;
  readonly prefixes: readonly DialPlanPrefix[];
  /** Set once the gateway object exists in the customer's tenant: the Sbc Site Name is frozen from then on. */
  readonly gatewayCreated: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface SiteDns {
  readonly method: DnsMethod;
  /** The region (DNS sub domain Mapping row); null for manual DNS. */
  readonly regionId: string | null;
  /** The license plan the operator chose; null lets the task take the first eligible plan with a free license. */
  readonly licensePlan: string | null;
}

export interface SiteM365Routing {
  readonly onboardingTemplateId: string;
  readonly cleanupTemplateId: string;
  readonly customVariables: Readonly<Record<string, string>>;
}

export interface SiteSbc {
  readonly configuration: SbcConfiguration;
  /** The SBC page's Region: a DNS sub domain Mapping row, whose SbcId names the Known SBC. */
  readonly regionId: string;
  readonly carrier: string | null;
  readonly carrierRegistration: {
    readonly username: string;
    /** Sealed under `carrierPasswordSlot(site)`. */
    readonly passwordSealed: string;
    readonly mainLine: string;
    readonly hostName: string;
  } | null;
  readonly cacProfile: string | null;
  readonly onboardingTemplateId: string;
  readonly cleanupTemplateId: string;
  readonly customVariables: Readonly<Record<string, string>>;
}

/** The secret-box slot of a site's carrier registration password. */
export function carrierPasswordSlot(customerId: string, siteName: string): string {
  return `sites/${customerId.toLowerCase()}/${siteName.toLowerCase()}/carrier-registration`;
}

/** A carrier registration as a site stores it: its password sealed under the site's slot, never in the clear. */
export function sealedRegistration(
  secretBox: Pick<SecretBox, 'seal'>,
  registration: { username: string; password: string; mainLine: string; hostName: string },
  customerId: string,
  siteName: string,
): NonNullable<SiteSbc['carrierRegistration']> {
  return {
    username: registration.username,
    passwordSealed: secretBox.seal(registration.password, carrierPasswordSlot(customerId, siteName)),
    mainLine: registration.mainLine,
    hostName: registration.hostName,
  };
}

/** The default M365 and SBC scripts the wizard preselects ("Default Script", `sbc-scenario7`). */
export const DEFAULT_SCRIPTS = {
  m365Onboarding: 'm365-default-onboarding',
  m365Cleanup: 'm365-default-cleanup',
  sbcOnboarding: 'sbc-scenario7',
  sbcCleanup: 'sbc-scenario7cleanup',
} as const;

/** `<Sbc Site Name>.<region Fqdn>`, as the manual derives the trunk's FQDN. */
export function gatewayFqdnOf(siteName: string, regionFqdn: string): string {
  return `${siteName}.${regionFqdn}`.toLowerCase();
}

/** What the wizard shows and the API returns for a site: never the carrier password. */
export function toSiteView(site: CustomerSite) {
  return {
    customerId: site.customerId,
    siteName: site.siteName,
    gatewayFqdn: site.gatewayFqdn,
    gatewayCreated: site.gatewayCreated,
    dns: site.dns,
    m365Routing: site.m365Routing,
    sbc: site.sbc
      ? {
          configuration: site.sbc.configuration,
          regionId: site.sbc.regionId,
          carrier: site.sbc.carrier,
          carrierRegistration: site.sbc.carrierRegistration
            ? {
                username: site.sbc.carrierRegistration.username,
                password: 'Password already saved',
                mainLine: site.sbc.carrierRegistration.mainLine,
                hostName: site.sbc.carrierRegistration.hostName,
              }
            : null,
          cacProfile: site.sbc.cacProfile,
          onboardingTemplateId: site.sbc.onboardingTemplateId,
          cleanupTemplateId: site.sbc.cleanupTemplateId,
          customVariables: site.sbc.customVariables,
        }
      : null,
    prefixes: site.prefixes,
    createdAt: site.createdAt,
    updatedAt: site.updatedAt,
  };
}
