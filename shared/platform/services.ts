import { type Authenticator, createJwtAuthenticator } from '../auth/authenticator.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { type CustomerService, createCustomerService } from '../customers/customer-service.js';
import { createTableCustomerStore } from '../customers/table-customer-store.js';
import { createTrustedTransport, type TrustedTransport } from '../http/trusted-transport.js';
import {
  createProviderSettingsService,
  type ProviderSettingsService,
} from '../provider/provider-settings-service.js';
import { createSecretBox, type SecretBox } from '../secrets/secret-box.js';

/** Everything a function needs, built once per process from settings; no state lives here between invocations. */
export interface Services {
  readonly settings: Settings;
  readonly transport: TrustedTransport;
  readonly authenticator: Authenticator;
  readonly customers: CustomerService;
  readonly secretBox: SecretBox;
  readonly providerSettings: ProviderSettingsService;
}

/** What the customer-facing pages and emails call the provider until its white label is set. */
export const DEFAULT_PROVIDER_DISPLAY_NAME = 'Direct Routing Hub';

let current: Promise<Services> | undefined;

export function createServices(settings: Settings): Services {
  const transport = createTrustedTransport(settings.trustedCaCertFile);
  const secretBox = createSecretBox(settings.secretsEncryptionKey);
  return {
    secretBox,
    providerSettings: createProviderSettingsService({
      connectionString: settings.storageConnectionString,
      secretBox,
      publicBaseUrl: settings.publicBaseUrl,
      defaultDisplayName: DEFAULT_PROVIDER_DISPLAY_NAME,
    }),
    settings,
    transport,
    authenticator: createJwtAuthenticator({ ...settings.api, fetch: transport.fetch }),
    customers: createCustomerService({
      store: createTableCustomerStore(settings.storageConnectionString),
      licence: settings.licence,
    }),
  };
}

/** Makes the process use these settings instead of the environment: the local host and tests call this first. */
export function useSettings(settings: Settings): Services {
  const services = createServices(settings);
  current = Promise.resolve(services);
  return services;
}

/** The process-wide services, built lazily from the environment (App Settings / local.settings.json Values). */
export function getServices(): Promise<Services> {
  current ??= Promise.resolve().then(() => createServices(loadSettings(process.env)));
  return current;
}
