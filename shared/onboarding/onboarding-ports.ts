import type { TokenCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import { type AzureDnsZone, createAzureDnsZone } from '../dns/azure-dns.js';
import type { Settings } from '../config/settings.js';
import type { CredentialService } from '../credentials/credential-service.js';
import { domainErrors } from '../errors/domain-errors.js';
import { azureSdkOptions } from '../net/azure-sdk-options.js';
import { clientSecretCredential, managedIdentityCredential } from '../net/identity-credentials.js';
import type { TrustedTransport } from '../net/trusted-transport.js';
import { createGraphClient } from '../m365/graph-client.js';
import { createSbcClient, type SbcClient } from '../sbc/sbc-client.js';
import { createTeamsAdminClient, type TeamsAdminClient } from '../teams/teams-admin-client.js';
import { PermanentTaskError } from '../tasks/task-definition.js';
import type { KnownSbc } from './onboarding-settings.js';
import type { OnboardingSettingsReader } from './onboarding-settings-service.js';

/** The outside systems an onboarding step talks to, each through its one adapter. */
export interface OnboardingPorts {
  /** Graph for the customer's tenant, with the customer's verified credentials. */
  graph(customerId: string): Promise<Client>;
  /** The Teams admin API for the customer's tenant. */
  teams(customerId: string): Promise<TeamsAdminClient>;
  /** The provider's Azure DNS zone (DNS API Configuration). */
  dnsZone(): Promise<AzureDnsZone>;
  /** A Known SBC's REST API. */
  sbc(sbcId: string): Promise<{ readonly device: KnownSbc; readonly client: SbcClient }>;
}

/**
 * The device's REST base from SBC_BASE_URL_TEMPLATE: its Device Fqdn, else its Ip Address. A device set to plain
 * HTTP is refused outside development: its REST password would cross the network in the clear.
 */
export function sbcBaseUrl(
  endpoints: Pick<Settings['endpoints'], 'sbcTemplate' | 'plainHttpSbcs'>,
  device: KnownSbc,
): string {
  if (!device.https && !endpoints.plainHttpSbcs) {
    throw domainErrors.conflict(
      'sbc_plain_http_refused',
      'Plain HTTP to an SBC is refused',
      `Known SBC "${device.id}" is set to plain HTTP, which sends its REST password in the clear: turn on HTTPS for it.`,
    );
  }
  return endpoints.sbcTemplate
    .replaceAll('{scheme}', device.https ? 'https' : 'http')
    .replaceAll('{device}', device.deviceFqdn ?? device.ipAddress);
}

export interface OnboardingPortsDeps {
  readonly settings: Pick<Settings, 'endpoints'>;
  readonly transport: TrustedTransport;
  readonly credentials: Pick<CredentialService, 'get' | 'graphCredential'>;
  readonly onboardingSettings: Pick<OnboardingSettingsReader, 'dnsApi' | 'sbc'>;
}

export function onboardingPorts(services: OnboardingPortsDeps): OnboardingPorts {
  const { settings, transport } = services;

  async function customerCredential(customerId: string): Promise<TokenCredential> {
    const credential = await services.credentials.get(customerId);
    if (!credential) {
      throw new PermanentTaskError(
        `Customer ${customerId} has no Microsoft 365 credentials; connect its tenant first.`,
      );
    }
    return services.credentials.graphCredential(credential);
  }

  return {
    async graph(customerId) {
      return createGraphClient({
        baseUrl: settings.endpoints.graph,
        credential: await customerCredential(customerId),
        transport,
      });
    },

    async teams(customerId) {
      return createTeamsAdminClient({
        baseUrl: settings.endpoints.teamsAdmin,
        credential: await customerCredential(customerId),
        transport,
      });
    },

    async dnsZone() {
      const dns = await services.onboardingSettings.dnsApi();
      if (!dns) {
        throw new PermanentTaskError(
          'The DNS API Configuration is missing: set it under System > DNS API Configuration.',
        );
      }
      const credential: TokenCredential =
        dns.credential.kind === 'app'
          ? clientSecretCredential(
              dns.credential.tenantId,
              dns.credential.clientId,
              dns.credential.clientSecret,
              {
                authorityHost: settings.endpoints.authorityHost,
                disableInstanceDiscovery: true,
                ...azureSdkOptions(transport),
              },
            )
          : managedIdentityCredential(
              dns.credential.clientId ? { clientId: dns.credential.clientId } : undefined,
            );
      return createAzureDnsZone({
        endpoint: settings.endpoints.arm,
        credential,
        transport,
        subscriptionId: dns.subscriptionId,
        resourceGroup: dns.resourceGroupName,
        zone: dns.dnsZone,
      });
    },

    async sbc(sbcId) {
      const device = await services.onboardingSettings.sbc(sbcId);
      if (!device) throw new PermanentTaskError(`There is no Known SBC "${sbcId}".`);
      return {
        device,
        client: createSbcClient({
          baseUrl: sbcBaseUrl(settings.endpoints, device),
          username: device.gatewayUser,
          password: device.gatewayPassword,
          transport,
        }),
      };
    },
  };
}
