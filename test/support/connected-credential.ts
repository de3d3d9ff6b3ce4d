import type { CustomerCredential } from '../../shared/credentials/credential.js';

/** A customer's Microsoft 365 credential as consent leaves it (a delegated token, verified), for the stores' `put`. */
export function connectedCredential(customerId: string, tenantId: string): Omit<CustomerCredential, 'etag'> {
  const domain = customerId.toLowerCase();
  return {
    customerId,
    method: 'token',
    tenantId,
    m365Email: `admin@${domain}.example`,
    m365AdminObjectId: null,
    initialDomain: `${domain}.onmicrosoft.com`,
    tenantDisplayName: `${customerId} Ltd`,
    clientId: null,
    clientSecretExpiresAt: null,
    sealedSecret: 'sealed',
    whenLastVerified: null,
    lastVerificationStatus: 'successful',
    lastVerificationMessage: null,
    heldByWizardSession: null,
  };
}
