import { DEMO } from './demo-data.js';

/**
 * The product's App Settings that point it at a running sandbox instead of Microsoft and the SBCs: its peers'
 * base URLs, the CA that signs its certificate, and the demo provider's API tenant and audience, with the
 * development flag that allows them.
 */
export function sandboxEndpointSettings(sandbox: {
  readonly url: string;
  readonly caCertFile: string;
}): Record<string, string> {
  return {
    API_TENANT_ID: DEMO.provider.tenantId,
    API_AUDIENCE: DEMO.provider.apiAudience,
    ENTRA_AUTHORITY_HOST: `${sandbox.url}/entra`,
    GRAPH_BASE_URL: `${sandbox.url}/graph`,
    TEAMS_ADMIN_BASE_URL: `${sandbox.url}/teams`,
    ARM_BASE_URL: `${sandbox.url}/arm`,
    SBC_BASE_URL_TEMPLATE: `${sandbox.url}/sbc/{device}`,
    TRUSTED_CA_CERT_FILE: sandbox.caCertFile,
    // The settings above move trust away from Microsoft and the SBCs, which only development may do.
    ALLOW_DEVELOPMENT_ENDPOINTS: 'true',
  };
}
