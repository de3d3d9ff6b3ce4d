import { createAlarmServiceOn } from '../shared/alarms/alarm-service.js';
import { withLicenseAlarm } from '../shared/alarms/license-alarms.js';
import { createLicenseStore } from '../shared/licenses/license-store.js';
import { createLicenseGate } from '../shared/licenses/license-gate.js';
import { taskAlarms } from '../shared/alarms/task-alarms.js';
import { customerTenantIndex } from '../shared/access/customer-tenants.js';
import { resolvePendingAdmins } from '../shared/access/pending-admins.js';
import { createJwtAuthenticator } from '../shared/auth/authenticator.js';
import type { TokenCredential } from '@azure/identity';
import type { JSONWebKeySet } from 'jose';
import type { Settings } from '../shared/config/settings.js';
import { createCustomerActivity } from '../shared/customers/customer-activity.js';
import { createCustomerService } from '../shared/customers/customer-service.js';
import { createCredentialService } from '../shared/credentials/credential-service.js';
import { CREDENTIAL_VERIFY_QUEUE } from '../shared/credentials/credential.js';
import { createCredentialStore } from '../shared/credentials/credential-store.js';
import { createTokenAppClients, delegatedTokenSource } from '../shared/credentials/token-app-client.js';
import { createConsentService } from '../shared/consent/consent-service.js';
import { createSiteClaimLock } from '../shared/onboarding/site-claim-lock.js';
import { createConsentFlowStore, createSignInLaunchStore } from '../shared/consent/consent-flow-store.js';
import { createCustomerStore } from '../shared/customers/table-customer-store.js';
import { createEmailSender } from '../shared/email/email-sender-factory.js';
import { createEmailOutbox } from '../shared/email/outbox.js';
import type { OutboxDeliveryDeps, OutboxTiming } from '../shared/email/outbox-delivery.js';
import { createOutboxQueue, EMAIL_OUTBOX_QUEUE } from '../shared/email/outbox-queue.js';
import { createOutboxStore } from '../shared/email/table-outbox-store.js';
import { trustedCaCertificates } from '../shared/net/trusted-ca.js';
import { createTrustedTransport } from '../shared/net/trusted-transport.js';
import { type AddressResolver, systemAddressResolver } from '../shared/net/address-resolver.js';
import { createProviderSettingsService } from '../shared/provider/provider-settings-service.js';
import { createInvitationService } from '../shared/invitations/invitation-service.js';
import { createInvitationStore } from '../shared/invitations/invitation-store.js';
import { createOnboardingSettingsService } from '../shared/onboarding/onboarding-settings-service.js';
import { createCustomerUpgradeService } from '../shared/onboarding/customer-upgrade.js';
import { createOnboardingService } from '../shared/onboarding/onboarding-service.js';
import { onboardingPorts } from '../shared/onboarding/onboarding-ports.js';
import { sbcChoicesReader } from '../shared/onboarding/sbc-choices.js';
import { prefixesOnSbc, type SharedResourceDeps } from '../shared/onboarding/shared-resources.js';
import { createCustomerSiteStore } from '../shared/onboarding/customer-site-store.js';
import type { OnboardingTaskPorts } from '../shared/onboarding/tasks/onboarding-job.js';
import { ONBOARDING_TASKS } from '../shared/onboarding/tasks/onboarding-tasks.js';
import { type UpgradeTaskPorts, upgradeCustomerTask } from '../shared/onboarding/tasks/upgrade-task.js';
import { createRemovedCustomers } from '../shared/customers/removed-customers.js';
import { withLegacyRemovals } from '../shared/onboarding/legacy-removals.js';
import { createCustomerPurge } from '../shared/onboarding/customer-purge.js';
import { createPrefixCacheStore } from '../shared/dialplan/prefix-cache-store.js';
import { createAccessStore } from '../shared/access/access-store.js';
import { createAuditStore } from '../shared/audit/audit-store.js';
import { createDialPlanService, dialPlanStores } from '../shared/dialplan/dialplan-service.js';
import { type DialPlanTaskPorts, updatePrefixesTask } from '../shared/dialplan/dialplan-task.js';
import { createNumberInventory } from '../shared/numbers/number-inventory.js';
import { createMirrorStoreOn } from '../shared/replication/mirror-store.js';
import { replicationDeps } from '../shared/replication/replication-deps.js';
import {
  createReplicationService,
  queueFirstReplication,
  type ReplicationMessage,
} from '../shared/replication/replication-service.js';
import { createReplicationStoreOn, REPLICATION_QUEUE } from '../shared/replication/replication-store.js';
import { createApiEdge } from '../shared/http/edge/api-edge.js';
import { createRateLimiter } from '../shared/access/rate-limiter.js';
import { createSecretBox } from '../shared/secrets/secret-box.js';
import { createSigner } from '../shared/secrets/signer.js';
import { azureTables } from '../shared/storage/azure-tables.js';
import { type Queues, storageQueues } from '../shared/storage/json-queue.js';
import { storageEndpoints } from '../shared/storage/storage-endpoints.js';
import type { Tables } from '../shared/storage/versioned-table.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AnyTaskDefinition } from '../shared/tasks/task-definition.js';
import {
  createTaskEngine,
  type TaskMessage,
  TASKS_QUEUE,
  type Repeater,
  type TaskTiming,
} from '../shared/tasks/task-engine.js';
import { createScriptTemplateService } from '../shared/templates/script-template-service.js';
import { createScriptTemplateStore } from '../shared/templates/script-template-store.js';
import { createTaskStore } from '../shared/tasks/task-store.js';
import { withHeldChanges } from '../shared/users/held-changes.js';
import type { NumberGuard } from '../shared/users/ports.js';
import type { UserChangeApplier } from '../shared/users/user-change.js';
import { withPendingNumbers } from '../shared/users/pending-numbers.js';
import { createUserChangeApplier } from '../shared/users/user-change-applier.js';
import { createUserChangeExecution } from '../shared/users/user-change-execution.js';
import { createUserChangeService } from '../shared/users/user-change-service.js';
import { createUserChangeStore } from '../shared/users/user-change-store.js';
import { type UserChangeTaskPorts, userChangeTask } from '../shared/users/user-change-task.js';
import { createVoiceChangeService } from '../shared/voice/voice-change-service.js';
import { createVoiceChangeStore } from '../shared/voice/voice-change-store.js';
import { type VoiceChangeTaskPorts, voiceChangeTask } from '../shared/voice/voice-change-task.js';
import { createLifecycleService } from '../shared/lifecycle/lifecycle-service.js';
import { createLifecycleStore } from '../shared/lifecycle/lifecycle-store.js';
import { createUserTemplateService } from '../shared/lifecycle/user-template-service.js';
import { createUserTemplateStore } from '../shared/lifecycle/user-template-store.js';
import { createUserImportService, mirrorDirectory } from '../shared/users/bulk-import-service.js';
import { createUserImportStore } from '../shared/users/bulk-import-store.js';
import { type UserImportTaskPorts, userImportTask } from '../shared/users/bulk-import-task.js';
import type { UserChangeExecution } from '../shared/users/ports.js';
import { createWizardService } from '../shared/wizard/wizard-service.js';
import { createWizardSessionStore } from '../shared/wizard/wizard-session-store.js';
import type { AppServices } from './app-services.js';
import { createRegistry } from './registry.js';

/** What the customer-facing pages and emails call the provider until its white label is set. */
export const DEFAULT_PROVIDER_DISPLAY_NAME = 'Direct Routing Hub';

/** What the task steps talk to: each definition's steps see the part their ports type declares. */
export type TaskPorts = OnboardingTaskPorts &
  UpgradeTaskPorts &
  DialPlanTaskPorts &
  UserChangeTaskPorts &
  UserImportTaskPorts &
  VoiceChangeTaskPorts;

/** What tests and the local host may tune; production always runs on the defaults. */
export interface AppOverrides {
  /** The outbox's retry delay and lease; the manual's "per minute" by default. */
  readonly outboxTiming?: Partial<OutboxTiming>;
  /** Test-only task definitions, next to the product's; and faster retries for tests. */
  readonly taskDefinitions?: readonly AnyTaskDefinition<TaskPorts>[];
  readonly taskTiming?: Partial<TaskTiming>;
  /** The task holder's heartbeat timer: a test stops it to play a host that died in the middle of a step. */
  readonly taskHeartbeat?: Repeater;
  /** Who holds a task's lease, as the task shows it; the host and process by default. */
  readonly taskInstanceId?: string;
  /** Where every store keeps its rows; Table storage at the settings' connection by default. */
  readonly tables?: Tables;
  /** Where every queue message goes; storage queues at the settings' connection by default. */
  readonly queues?: Queues;
  /** For identity-based storage: the token credential instead of the one the settings name (managed identity). */
  readonly storageCredential?: TokenCredential;
  /** API tokens are verified against these keys instead of the settings' JWKS endpoint. */
  readonly signingKeys?: JSONWebKeySet;
  /** Public DNS; the host's resolver by default (a test's world answers from the sandbox's zones). */
  readonly resolveAddresses?: AddressResolver;
  /** Where users' changes are applied and numbers checked: a test's recording twins. */
  readonly userChangeApplier?: UserChangeApplier;
  readonly numberGuard?: NumberGuard;
  /** How long a user's queued changes wait for more (DEFAULT_DEBOUNCE_MS); 0 in tests that run them at once. */
  readonly userChangeDebounceMs?: number;
  /** How users' changes are checked and applied: a test's recording twin. */
  readonly userChangeExecution?: UserChangeExecution;
  /** The rate limiter's clock (epoch ms): a test moves it past a window instead of waiting. */
  readonly rateLimitClock?: () => number;
  /** The task engine's clock (the steps' `ctx.clock`): a test moves it a day on instead of waiting one. */
  readonly taskClock?: () => Date;
}

export interface App {
  /** Every function of the product: Azure's registration (index.ts) and the local host serve this. */
  readonly registry: readonly FunctionDefinition[];
  /** For tests' direct assertions and the replication bench; handlers get theirs through their factories. */
  readonly services: AppServices;
  /** Lets go of the process-wide connections (the trusted transport's sockets). */
  close(): Promise<void>;
}

/** The composition root: every store, adapter, service, task definition and function, built once from settings. */
export function createApp(settings: Settings, overrides: AppOverrides = {}): App {
  const services = createServices(settings, overrides);
  return {
    registry: createRegistry(services),
    services,
    close: () => services.transport.close(),
  };
}

function createServices(settings: Settings, overrides: AppOverrides): AppServices {
  const transport = createTrustedTransport(settings.trustedCaCertFile);
  const storage = storageEndpoints(settings.storage, {
    transport,
    ...(overrides.storageCredential ? { credential: overrides.storageCredential } : {}),
  });
  const tables = overrides.tables ?? azureTables(storage);
  const queues = overrides.queues ?? storageQueues(storage);
  const secretBox = createSecretBox(settings.secretsEncryptionKey, settings.retiredSecretsEncryptionKeys);
  const providerSettings = createProviderSettingsService({
    tables,
    secretBox,
    publicBaseUrl: settings.publicBaseUrl,
    defaultDisplayName: DEFAULT_PROVIDER_DISPLAY_NAME,
  });
  const customerStore = createCustomerStore(tables);
  const removedCustomers = createRemovedCustomers(tables);
  const tokenApp = createTokenAppClients({
    settings: providerSettings,
    authorityHost: settings.endpoints.authorityHost,
    transport,
  });
  const alarms = createAlarmServiceOn(tables);
  const outboxDelivery: OutboxDeliveryDeps = {
    store: createOutboxStore(tables),
    queue: createOutboxQueue(queues.queue(EMAIL_OUTBOX_QUEUE)),
    emailSettings: () => providerSettings.email(),
    createSender: (email) =>
      createEmailSender(email, { transport, smtpCa: trustedCaCertificates(settings.trustedCaCertFile) }),
    ...(overrides.outboxTiming ? { timing: overrides.outboxTiming } : {}),
  };
  const outbox = createEmailOutbox({ store: outboxDelivery.store, queue: outboxDelivery.queue });
  const replicationStore = createReplicationStoreOn(tables);
  const replicationQueue = queues.queue<ReplicationMessage>(REPLICATION_QUEUE);
  const credentialStore = createCredentialStore(tables);
  const credentials = createCredentialService({
    store: credentialStore,
    secretBox,
    transport,
    authorityHost: settings.endpoints.authorityHost,
    graphBaseUrl: settings.endpoints.graph,
    delegated: delegatedTokenSource(tokenApp),
    alarms,
    onVerified: (customerId) =>
      queueFirstReplication(
        { store: replicationStore, queue: replicationQueue, now: () => new Date() },
        customerId,
      ),
  });
  const invitations = createInvitationService({
    store: createInvitationStore(tables),
    customers: customerStore,
    settings: providerSettings,
    outbox,
  });
  const licenses = createLicenseStore(tables);
  const onboardingSettings = createOnboardingSettingsService({ tables, secretBox });
  const adapters = onboardingPorts({ settings, transport, credentials, onboardingSettings });
  const sbcChoices = sbcChoicesReader(adapters);
  const audit = createAuditStore(tables);
  const wizardSessions = createWizardSessionStore(tables);
  const consentFlows = createConsentFlowStore(tables);
  const wizard = createWizardService({
    audit,
    onboardingSettings,
    store: wizardSessions,
    customers: customerStore,
    license: settings.license,
    invitations,
    credentials,
    secretBox,
    sbcChoices,
  });
  const consent = createConsentService({
    store: consentFlows,
    launches: createSignInLaunchStore(tables),
    secretBox,
    tokenApp,
    credentials,
    sink: {
      async refusal(subject) {
        if (subject.type === 'wizard') return null;
        const state = await invitations.state(subject.invitationId);
        return state === 'valid' ? null : `This invitation is ${state}; the sign-in was not used.`;
      },
      async expectedTenant(subject) {
        const customerId = subject.type === 'invitation' ? subject.invitationId : subject.customerId;
        const held = await credentials.get(customerId);
        // The wizard session's own capture, not yet a customer's, may be redone with another tenant.
        if (!held || (subject.type === 'wizard' && held.heldByWizardSession === subject.sessionId))
          return null;
        return held.tenantId;
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
  const taskStore = createTaskStore(tables);
  const customers = withLicenseAlarm(
    withLegacyRemovals(createCustomerService({ store: customerStore, license: settings.license }), {
      tasks: taskStore,
      removed: removedCustomers,
      // The purge needs stores built below from this service's users; it is reached only when a create runs.
      purge: {
        get parts() {
          return customerData.parts;
        },
      },
    }),
    {
      license: settings.license,
      alarms,
      warningPercent: async () => (await licenses.settings()).warningLimitPercent,
    },
  );
  const access = createAccessStore(tables);
  const customerActivity = createCustomerActivity({
    store: customerStore,
    tasks: taskStore,
    replication: replicationStore,
    channelOf: (customerId) => access.customerChannel(customerId),
  });
  const sites = createCustomerSiteStore(tables);
  const templates = createScriptTemplateService({ store: createScriptTemplateStore(tables) });
  const mirror = createMirrorStoreOn(tables);
  const userChangeStore = createUserChangeStore(tables);
  const userImportStore = createUserImportStore(tables);
  const voiceChangeStore = createVoiceChangeStore(tables);
  const licenseGate = createLicenseGate({ customers, licenses, mirror, sites, alarms });
  const userTemplateStore = createUserTemplateStore(tables);
  const lifecycleStore = createLifecycleStore(tables);
  const siteClaimLock = createSiteClaimLock(tables);
  const numbers = createNumberInventory({
    claims: siteClaimLock,
    templatesByRange: async (customerId) => {
      const byRange = new Map<string, string[]>();
      for (const { value } of await userTemplateStore.list(customerId)) {
        if (value.numberRangeId !== null) {
          byRange.set(value.numberRangeId, [...(byRange.get(value.numberRangeId) ?? []), value.name]);
        }
      }
      return byRange;
    },
    tables,
    sites,
    regions: onboardingSettings,
    prefixesOnSbc: (sbcId) => prefixesOnSbc({ sites, regions: onboardingSettings }, sbcId),
    // Numbers queued for users count as held; the task engine is reached late (it needs the ports built below).
    numberIndex: withPendingNumbers(mirror, {
      store: userChangeStore,
      engine: { get: (taskId) => taskEngine.get(taskId) },
    }),
  });
  const siteClaims: SharedResourceDeps = {
    sites,
    regions: onboardingSettings,
    rangesOnSbc: (sbcId) => numbers.rangesOnSbc(sbcId),
    lock: siteClaimLock,
  };
  const dialPlans = createDialPlanService({
    ...dialPlanStores(tables),
    sites,
    customers,
    credentials,
    onboardingSettings,
    adapters,
    templates,
  });
  const replication = createReplicationService(
    replicationDeps({
      settings,
      store: replicationStore,
      // A cycle keeps users' just-applied values over what Teams still reports (docs/day-two.md).
      mirror: withHeldChanges(mirror, userChangeStore),
      queue: replicationQueue,
      credentials,
      credentialStore,
      alarms,
      customers,
      activity: customerActivity,
      transport,
      sites,
      templates,
      // The voice service is built below too (it queues on the task engine); a cycle reaches it late.
      desired: (customerId) => voiceChanges.desired(customerId),
      // The lifecycle pass is built below, from services replication does not need; a cycle reaches it late.
      afterCycle: async (customerId) => {
        await lifecycle.run(customerId);
        await resolvePendingAdmins({ access, directory: mirrorDirectory(mirror) }, customerId);
      },
    }),
  );
  const userChangeApplier = overrides.userChangeApplier ?? createUserChangeApplier(adapters);
  const numberGuard = overrides.numberGuard ?? numbers.guard;
  const userChangeExecution = createUserChangeExecution({
    mirror,
    store: userChangeStore,
    applier: userChangeApplier,
    numbers: numberGuard,
    customers,
  });
  // The task engine needs the import's applier and the import needs the engine: the engine is reached late.
  const userImports = createUserImportService({
    store: userImportStore,
    directory: mirrorDirectory(mirror),
    execution: overrides.userChangeExecution ?? userChangeExecution,
    taskEngine: {
      start: (options) => taskEngine.start(options),
      get: (taskId) => taskEngine.get(taskId),
    },
  });
  // The task engine is built from the task ports, and the voice service queues on it: reached late.
  const voiceChanges = createVoiceChangeService({
    mirror,
    customers,
    engine: { start: (options) => taskEngine.start(options) },
    store: voiceChangeStore,
    teams: (customerId) => adapters.teams(customerId),
  });
  const customerData = createCustomerPurge({
    replication: replicationStore,
    mirror,
    voiceChanges: voiceChangeStore,
    prefixCache: createPrefixCacheStore(tables),
    licenses,
    invitations: createInvitationStore(tables),
    consentFlows,
    wizardSessions,
    userChanges: userChangeStore,
    userImports: userImportStore,
    userTemplates: userTemplateStore,
    numbers,
    tasks: taskStore,
    alarms,
    removed: removedCustomers,
  });
  const taskPorts: TaskPorts = {
    settings,
    customerData,
    customers,
    credentials,
    onboardingSettings,
    secretBox,
    sites,
    templates,
    access,
    adapters,
    invitations,
    dialPlans,
    userChanges: userChangeExecution,
    userChangeApplier,
    userImports,
    voiceChanges: voiceChanges.execution,
  };
  // Each definition is typed by its own input; the engine holds them all with input `unknown` and validates it.
  const productTasks = [
    ...ONBOARDING_TASKS,
    upgradeCustomerTask,
    updatePrefixesTask,
    userChangeTask,
    userImportTask,
    voiceChangeTask,
  ] as readonly unknown[];
  const taskEngine = createTaskEngine<TaskPorts>({
    store: taskStore,
    queue: queues.queue<TaskMessage>(TASKS_QUEUE),
    definitions: [
      ...(productTasks as readonly AnyTaskDefinition<TaskPorts>[]),
      ...(overrides.taskDefinitions ?? []),
    ],
    ports: taskPorts,
    onFinished: taskAlarms(alarms),
    onTasksChanged: (customerId) => customerActivity.tasksChanged(customerId),
    ...(overrides.taskHeartbeat ? { every: overrides.taskHeartbeat } : {}),
    ...(overrides.taskInstanceId ? { instanceId: overrides.taskInstanceId } : {}),
    ...(overrides.taskClock ? { now: overrides.taskClock } : {}),
    timing: {
      retryWindowMs: settings.tasks.retryWindowMinutes * 60_000,
      leaseMs: settings.tasks.leaseSeconds * 1000,
      // Three renewals per lease: two may fail (a slow write, storage busy) before another host takes over.
      renewMs: (settings.tasks.leaseSeconds * 1000) / 3,
      ...overrides.taskTiming,
    },
  });
  // A customer admin signs in to the customer's own tenant: its tokens are accepted when the tenant is a customer's.
  const customerTenants = {
    issuers: settings.api.customerIssuers,
    isCustomerTenant: customerTenantIndex(() => credentialStore.list()),
  };
  const authenticator = createJwtAuthenticator(
    overrides.signingKeys
      ? {
          issuer: settings.api.issuers,
          audience: settings.api.audience,
          allowedClientIds: settings.api.allowedClientIds,
          customerTenants,
          jwks: overrides.signingKeys,
        }
      : { ...settings.api, issuer: settings.api.issuers, customerTenants, fetch: transport.fetch },
  );
  const sbcOfRegion = async (regionId: string) => (await onboardingSettings.region(regionId))?.sbcId ?? null;
  const userTemplates = createUserTemplateService({
    store: userTemplateStore,
    customers,
    mirror,
    directory: mirrorDirectory(mirror),
    numbers,
    imports: userImports,
    boundBy: (customerId, templateId) => lifecycle.boundBy(customerId, templateId),
    licenseGate,
  });
  const lifecycle = createLifecycleService({
    store: lifecycleStore,
    templateStore: userTemplateStore,
    templates: userTemplates,
    customers,
    mirror,
    imports: userImports,
    numbers,
  });
  return {
    settings,
    transport,
    resolveAddresses: overrides.resolveAddresses ?? systemAddressResolver,
    storage,
    secretBox,
    providerSettings,
    tokenApp,
    authenticator,
    apiEdge: createApiEdge({
      authenticator,
      access: {
        customerChannel: (customerId) => access.customerChannel(customerId),
        grantsOf: (subject) => access.grantsOf(subject),
        customersOfChannel: (channelId) => access.customersOfChannel(channelId),
        customerTenant: async (customerId) => (await credentialStore.get(customerId))?.tenantId ?? null,
      },
      rateLimits: {
        limiter: createRateLimiter(tables, overrides.rateLimitClock),
        limits: () => providerSettings.rateLimits(),
        sbcOfRegion,
        sbcOfSite: async (customerId, siteName) => {
          const regionId = (await sites.get(customerId, siteName))?.site.sbc?.regionId;
          return regionId ? sbcOfRegion(regionId) : null;
        },
        sbcsOfCustomer: async (customerId) => {
          const regionIds = new Set<string>();
          for (const { site } of await sites.list(customerId)) if (site.sbc) regionIds.add(site.sbc.regionId);
          const sbcIds = await Promise.all([...regionIds].map(sbcOfRegion));
          return sbcIds.filter((id) => id !== null);
        },
      },
      audit,
      taskEngine,
    }),
    customers,
    removedCustomers,
    customerActivity,
    alarms,
    outbox,
    outboxDelivery,
    credentials,
    invitations,
    wizard,
    consent,
    pageSigner: createSigner(settings.secretsEncryptionKey, 'customer-pages'),
    credentialVerifyQueue: queues.queue(CREDENTIAL_VERIFY_QUEUE),
    onboardingSettings,
    taskEngine,
    access,
    audit,
    sites,
    siteClaims,
    templates,
    licenses,
    licenseGate,
    mirror,
    replication,
    onboarding: createOnboardingService({
      access,
      customers,
      wizard,
      credentials,
      onboardingSettings,
      secretBox,
      sites,
      templates,
      taskEngine,
      sbcChoices,
      siteClaims,
    }),
    upgrades: createCustomerUpgradeService({ customers, credentials, invitations, taskEngine }),
    dialPlans,
    numbers,
    adapters,
    userChanges: createUserChangeService({
      engine: taskEngine,
      execution: userChangeExecution,
      store: userChangeStore,
      mirror,
      applier: userChangeApplier,
      markQueued: (customerId, userId) => mirror.markPending(customerId, userId, true, { edited: true }),
      licenseGate,
      ...(overrides.userChangeDebounceMs !== undefined ? { debounceMs: overrides.userChangeDebounceMs } : {}),
    }),
    userChangeApplier,
    numberGuard,
    userImports,
    userTemplates,
    lifecycle,
    voiceChanges,
  };
}
