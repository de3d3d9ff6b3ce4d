import type { CustomerSite } from '../../shared/onboarding/customer-site.js';

/** A customer's site on the SBC of `regionId`, as onboarding leaves it before deploying: what a number range needs. */
export function sbcSite(customerId: string, regionId: string, siteName = 'Site1'): CustomerSite {
  const now = new Date().toISOString();
  return {
    customerId,
    siteName,
    gatewayFqdn: `${siteName.toLowerCase()}.${regionId}.example.com`,
    dns: null,
    m365Routing: null,
    sbc: {
      configuration: 'sip-trunk',
      regionId,
      carrier: null,
      carrierRegistration: null,
      cacProfile: null,
      onboardingTemplateId: 'sbc-scenario7',
      cleanupTemplateId: 'sbc-scenario7-cleanup',
      customVariables: {},
    },
    prefixes: [],
    gatewayCreated: false,
    createdAt: now,
    updatedAt: now,
  };
}
