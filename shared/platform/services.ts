import { type AlarmService, createAlarmService } from '../alarms/alarm-service.js';
import { withLicenceAlarm } from '../alarms/licence-alarms.js';
import { createTableLicenceStore } from '../licences/licence-store.js';
import { taskAlarms } from '../alarms/task-alarms.js';
import { type Authenticator, createJwtAuthenticator } from '../auth/authenticator.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { type CustomerService, createCustomerService } from '../customers/customer-service.js';
import { createCredentialService, type CredentialService } from '../credentials/credential-service.js';
import { CREDENTIAL_VERIFY_QUEUE } from '../credentials/credential.js';
import { createTableCredentialStore } from '../credentials/credential-store.js';
import {
  createTokenAppClients,
  delegatedTokenSource,
  type TokenAppClients,
} from '../credentials/token-app-client.js';
import { createConsentService, type ConsentService } from '../consent/consent-service.js';
import { createTableConsentFlowStore } from '../consent/consent-flow-store.js';
import { createTableCustomerStore } from '../customers/table-customer-store.js';
import type { EmailOutbox } from '../email/email-message.js';
import { createEmailSender } from '../email/email-sender-factory.js';
import { createEmailOutbox } from '../email/outbox.js';
import type { OutboxDeliveryDeps, OutboxTiming } from '../email/outbox-delivery.js';
import { createStorageOutboxQueue } from '../email/outbox-queue.js';
import { createTableOutboxStore } from '../email/table-outbox-store.js';
import { trustedCaCertificates } from '../net/trusted-ca.js';
import { createTrustedTransport, type TrustedTransport } from '../net/trusted-transport.js';
import {
  createProviderSettingsService,
  type ProviderSettingsService,
} from '../provider/provider-settings-service.js';
import { createInvitationService, type InvitationService } from '../invitations/invitation-service.js';
import { createTableInvitationStore } from '../invitations/invitation-store.js';
import {
  createOnboardingSettingsService,
  type OnboardingSettingsService,
} from '../onboarding/onboarding-settings-service.js';
import { replicationOnVerified } from '../replication/verified-hook.js';
import { createSecretBox, type SecretBox } from '../secrets/secret-box.js';
import { createSigner, type Signer } from '../secrets/signer.js';
import { createJsonQueue, type JsonQueue } from '../storage/json-queue.js';
import type { AnyTaskDefinition } from '../tasks/task-definition.js';
import { TASK_DEFINITIONS } from '../tasks/task-catalogue.js';
import {
  createTaskEngine,
  type TaskEngine,
  type TaskMessage,
  TASKS_QUEUE,
  type TaskTiming,
} from '../tasks/task-engine.js';
import { createTableTaskStore } from '../tasks/task-store.js';
import { createWizardService, type WizardService } from '../wizard/wizard-service.js';
import { createTableWizardSessionStore } from '../wizard/wizard-session-store.js';

/** Everything a function needs, built once per process from settings; no state lives here between invocations. */
export interface Services {
  readonly settings: Settings;
  readonly transport: TrustedTransport;
  readonly authenticator: Authenticator;
  readonly customers: CustomerService;
  readonly secretBox: SecretBox;
  readonly providerSettings: ProviderSettingsService;
  readonly tokenApp: TokenAppClients;
  readonly alarms: AlarmService;
  readonly outbox: EmailOutbox;
  /** What the `email-outbox` functions deliver with. */
  readonly outboxDelivery: OutboxDeliveryDeps;
  readonly credentials: CredentialService;
  readonly invitations: InvitationService;
  readonly wizard: WizardService;
  readonly consent: ConsentService;
  /** Signs the customer-facing pages' forms (CSRF). */
  readonly pageSigner: Signer;
  readonly credentialVerifyQueue: JsonQueue<{ readonly customerId: string }>;
  readonly onboardingSettings: OnboardingSettingsService;
  /** Queued, resumable tasks: onboarding, removal, and what later issues add. */
  readonly taskEngine: TaskEngine;
}

/** What the customer-facing pages and emails call the provider until its white label is set. */
export const DEFAULT_PROVIDER_DISPLAY_NAME = 'Direct Routing Hub';

let current: Promise<Services> | undefined;

/** What tests and the local host may tune; production always runs on the defaults. */
export interface ServiceOverrides {
  /** The outbox's retry delay and lease; the manual's "per minute" by default. */
  readonly outboxTiming?: Partial<OutboxTiming>;
  /** Test-only task definitions, next to the product's; and faster retries for tests. */
  readonly taskDefinitions?: readonly AnyTaskDefinition<Services>[];
  readonly taskTiming?: Partial<TaskTiming>;
}

export function createServices(settings: Settings, overrides: ServiceOverrides = {}): Services {
  const connection = settings.storageConnectionString;
  const transport = createTrustedTransport(settings.trustedCaCertFile);
  const secretBox = createSecretBox(settings.secretsEncryptionKey);
  const providerSettings = createProviderSettingsService({
    connectionString: connection,
    secretBox,
    publicBaseUrl: settings.publicBaseUrl,
    defaultDisplayName: DEFAULT_PROVIDER_DISPLAY_NAME,
  });
  const customerStore = createTableCustomerStore(connection);
  const tokenApp = createTokenAppClients({
    settings: providerSettings,
    authorityHost: settings.endpoints.authorityHost,
    transport,
  });
  const alarms = createAlarmService(connection);
  const outboxDelivery: OutboxDeliveryDeps = {
    store: createTableOutboxStore(connection),
    queue: createStorageOutboxQueue(connection),
    emailSettings: () => providerSettings.email(),
    createSender: (email) =>
      createEmailSender(email, { transport, smtpCa: trustedCaCertificates(settings.trustedCaCertFile) }),
    ...(overrides.outboxTiming ? { timing: overrides.outboxTiming } : {}),
  };
  const outbox = createEmailOutbox({ store: outboxDelivery.store, queue: outboxDelivery.queue });
  const credentials = createCredentialService({
    store: createTableCredentialStore(connection),
    secretBox,
    transport,
    authorityHost: settings.endpoints.authorityHost,
    graphBaseUrl: settings.endpoints.graph,
    delegated: delegatedTokenSource(tokenApp),
    alarms,
    onVerified: replicationOnVerified(connection),
  });
  const invitations = createInvitationService({
    store: createTableInvitationStore(connection),
    customers: customerStore,
    settings: providerSettings,
    outbox,
  });
  const licenceStore = createTableLicenceStore(connection);
  const onboardingSettings = createOnboardingSettingsService({ connectionString: connection, secretBox });
  const wizard = createWizardService({
    onboardingSettings,
    store: createTableWizardSessionStore(connection),
    customers: customerStore,
    licence: settings.licence,
    invitations,
    credentials,
    secretBox,
  });
  const consent = createConsentService({
    store: createTableConsentFlowStore(connection),
    secretBox,
    tokenApp,
    credentials,
    sink: {
      async refusal(subject) {
        if (subject.type === 'wizard') return null;
        const state = await invitations.state(subject.invitationId);
        return state === 'valid' ? null : `This invitation is ${state}; the sign-in was not used.`;
      },
      async completed(subject, credential) {
        if (subject.type === 'invitation') {
          await invitations.markAuthenticated(subject.invitationId, credential.m365Email);
        } else {
          await wizard.completeSignIn(subject.sessionId, subject.owner, credential);
        }
      },
    },
  });
  const services: Services = {
    settings,
    transport,
    secretBox,
    providerSettings,
    tokenApp,
    authenticator: createJwtAuthenticator({ ...settings.api, fetch: transport.fetch }),
    customers: withLicenceAlarm(createCustomerService({ store: customerStore, licence: settings.licence }), {
      licence: settings.licence,
      alarms,
      warningPercent: async () => (await licenceStore.settings()).warningLimitPercent,
    }),
    alarms,
    outbox,
    outboxDelivery,
    credentials,
    invitations,
    wizard,
    consent,
    pageSigner: createSigner(settings.secretsEncryptionKey, 'customer-pages'),
    credentialVerifyQueue: createJsonQueue(connection, CREDENTIAL_VERIFY_QUEUE),
    onboardingSettings,
    taskEngine: createTaskEngine<Services>({
      store: createTableTaskStore(connection),
      queue: createJsonQueue<TaskMessage>(connection, TASKS_QUEUE),
      definitions: [...TASK_DEFINITIONS, ...(overrides.taskDefinitions ?? [])],
      services: () => services,
      onFinished: taskAlarms(alarms),
      ...(overrides.taskTiming ? { timing: overrides.taskTiming } : {}),
    }),
  };
  return services;
}

/** Makes the process use these settings instead of the environment: the local host and tests call this first. */
export function useSettings(settings: Settings, overrides: ServiceOverrides = {}): Services {
  const services = createServices(settings, overrides);
  current = Promise.resolve(services);
  return services;
}

/** The process-wide services, built lazily from the environment (App Settings / local.settings.json Values). */
export function getServices(): Promise<Services> {
  current ??= Promise.resolve().then(() => createServices(loadSettings(process.env)));
  return current;
}
