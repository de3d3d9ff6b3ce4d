import type { AccessStore } from '../shared/access/access-store.js';
import type { AlarmService } from '../shared/alarms/alarm-service.js';
import type { AuditStore } from '../shared/audit/audit-store.js';
import type { Authenticator } from '../shared/auth/authenticator.js';
import type { Settings } from '../shared/config/settings.js';
import type { ConsentService } from '../shared/consent/consent-service.js';
import type { CredentialService } from '../shared/credentials/credential-service.js';
import type { ApiPipeline } from '../shared/http/edge/api-edge.js';
import type { TokenAppClients } from '../shared/credentials/token-app-client.js';
import type { CustomerActivityRecorder } from '../shared/customers/customer-activity.js';
import type { CustomerService } from '../shared/customers/customer-service.js';
import type { RemovedCustomers } from '../shared/customers/removed-customers.js';
import type { DialPlanService } from '../shared/dialplan/dialplan-service.js';
import type { EmailOutbox } from '../shared/email/email-message.js';
import type { OutboxDeliveryDeps } from '../shared/email/outbox-delivery.js';
import type { AddressResolver } from '../shared/net/address-resolver.js';
import type { TrustedTransport } from '../shared/net/trusted-transport.js';
import type { InvitationService } from '../shared/invitations/invitation-service.js';
import type { LicenseStore } from '../shared/licenses/license-store.js';
import type { LicenseGate } from '../shared/licenses/license-gate.js';
import type { CustomerSiteStore } from '../shared/onboarding/customer-site-store.js';
import type { SharedResourceDeps } from '../shared/onboarding/shared-resources.js';
import type { NumberInventory } from '../shared/numbers/number-inventory.js';
import type { OnboardingPorts } from '../shared/onboarding/onboarding-ports.js';
import type { CustomerUpgradeService } from '../shared/onboarding/customer-upgrade.js';
import type { OnboardingService } from '../shared/onboarding/onboarding-service.js';
import type { OnboardingSettingsService } from '../shared/onboarding/onboarding-settings-service.js';
import type { ProviderSettingsService } from '../shared/provider/provider-settings-service.js';
import type { MirrorStore } from '../shared/replication/mirror-store.js';
import type { ReplicationService } from '../shared/replication/replication-service.js';
import type { SecretBox } from '../shared/secrets/secret-box.js';
import type { Signer } from '../shared/secrets/signer.js';
import type { JsonQueue } from '../shared/storage/json-queue.js';
import type { StorageEndpoints } from '../shared/storage/storage-endpoints.js';
import type { TaskEngine } from '../shared/tasks/task-engine.js';
import type { ScriptTemplateService } from '../shared/templates/script-template-service.js';
import type { NumberGuard } from '../shared/users/ports.js';
import type { UserChangeApplier } from '../shared/users/user-change.js';
import type { UserChangeService } from '../shared/users/user-change-service.js';
import type { LifecycleService } from '../shared/lifecycle/lifecycle-service.js';
import type { UserTemplateService } from '../shared/lifecycle/user-template-service.js';
import type { UserImportService } from '../shared/users/bulk-import-service.js';
import type { VoiceChangeService } from '../shared/voice/voice-change-service.js';
import type { WizardService } from '../shared/wizard/wizard-service.js';

/**
 * Every store, adapter and service the composition root (app.ts) builds. Feature factories take a `Pick` of it,
 * so each names what it uses; the type lives apart from the root so that they need not import the root.
 */
export interface AppServices {
  readonly settings: Settings;
  readonly transport: TrustedTransport;
  /** Public DNS, for Resolve Address. */
  readonly resolveAddresses: AddressResolver;
  /** The storage account's clients, as the settings reach it; the health check and the poison-queue alarm read it. */
  readonly storage: StorageEndpoints;
  readonly authenticator: Authenticator;
  /** The policies every API operation passes (authenticate, authorize, validate, audit, problem+json). */
  readonly apiEdge: ApiPipeline;
  readonly customers: CustomerService;
  /** Customers removed: what their Short Name's next customer does not see, and the provider still reads. */
  readonly removedCustomers: RemovedCustomers;
  /** Keeps the Tenants list's per-customer summary (activity, last replication, channel) beside each customer. */
  readonly customerActivity: CustomerActivityRecorder;
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
  /** Queued, resumable tasks: onboarding, removal, prefix updates. */
  readonly taskEngine: TaskEngine;
  readonly access: AccessStore;
  readonly audit: AuditStore;
  readonly sites: CustomerSiteStore;
  /** What each customer holds on the shared SBCs and DNS zone (docs/access.md, Shared resources). */
  readonly siteClaims: SharedResourceDeps;
  readonly templates: ScriptTemplateService;
  readonly licenses: LicenseStore;
  /** Admits or refuses users to provision against the customer's Licensed Users (and Grace Interval). */
  readonly licenseGate: LicenseGate;
  /** The replicated Microsoft 365 data of the customers. */
  readonly mirror: MirrorStore;
  readonly replication: ReplicationService;
  readonly onboarding: OnboardingService;
  /** Upgrade Customer: Hosted Essentials to Hosted Essentials + or Hosted Pro (TenantUpgrade). */
  readonly upgrades: CustomerUpgradeService;
  readonly dialPlans: DialPlanService;
  /** Number ranges and reserved numbers; its `guard` is the user-change engine's NumberGuard. */
  readonly numbers: NumberInventory;
  /** Graph, Teams, DNS and the SBCs, each through its adapter. */
  readonly adapters: OnboardingPorts;
  /** Day two: users' changes queued, applied, audited and rolled back. */
  readonly userChanges: UserChangeService;
  readonly userChangeApplier: UserChangeApplier;
  readonly numberGuard: NumberGuard;
  /** Day two: CSV imports of user changes, each applied as one task. */
  readonly userImports: UserImportService;
  /** Day two: Manage Templates, and a template applied to users as an import. */
  readonly userTemplates: UserTemplateService;
  readonly lifecycle: LifecycleService;
  /** Day two: the customer's Teams voice objects changed as queued commands, audited and rolled back. */
  readonly voiceChanges: VoiceChangeService;
}
