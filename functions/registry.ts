import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { createAccessFunctions } from './access.js';
import { createAlarmFunctions } from './alarms.js';
import type { AppServices } from './app-services.js';
import { createAuditFunctions } from './audit.js';
import { createAuthenticatePages } from './authenticate.js';
import { createAuthenticationStatusFunctions } from './authentication-status.js';
import { createCredentialVerificationFunctions } from './credential-verification.js';
import { createCustomerActivityFunctions } from './customer-activity.js';
import { createCustomerFunctions } from './customers.js';
import { createDialPlanFunctions } from './dialplan.js';
import { createEmailOutboxFunctions } from './email-outbox.js';
import { createHealthFunctions } from './health.js';
import { createInvitationFunctions } from './invitations.js';
import { createLicenseFunctions } from './licenses.js';
import { createNumberFunctions } from './numbers.js';
import { createOnboardingSettingsFunctions } from './onboarding-settings.js';
import { createOnboardingFunctions } from './onboarding.js';
import { openApiFunction } from './openapi.js';
import { createProviderSettingsFunctions } from './provider-settings.js';
import { createReplicationFunctions } from './replication.js';
import { createSbcInventoryFunctions } from './sbc-inventory.js';
import { createScriptTemplateFunctions } from './script-templates.js';
import { createTaskFunctions } from './tasks.js';
import { createUserFunctions } from './users.js';
import { createUserChangeFunctions } from './user-changes.js';
import { createUserImportFunctions } from './user-imports.js';
import { createUserTemplateFunctions } from './user-templates.js';
import { createLifecycleFunctions } from './lifecycle.js';
import { createVoiceGroupAssignmentFunctions } from './voice-group-assignments.js';
import { createVoiceObjectFunctions } from './voice-objects.js';
import { createVoiceRuleBuilderFunctions } from './voice-rule-builder.js';
import { createVoiceSimulateFunctions } from './voice-simulate.js';
import { createWizardFunctions } from './wizard.js';

/** Every function of the product, each feature given the part of the services it uses. */
export function createRegistry(services: AppServices): readonly FunctionDefinition[] {
  const registry: readonly FunctionDefinition[] = [
    ...createCustomerFunctions(services),
    ...createCustomerActivityFunctions(services),
    ...createProviderSettingsFunctions(services),
    ...createOnboardingSettingsFunctions(services),
    ...createSbcInventoryFunctions(services),
    ...createWizardFunctions(services),
    ...createScriptTemplateFunctions(services),
    ...createOnboardingFunctions(services),
    ...createTaskFunctions(services),
    ...createInvitationFunctions(services),
    ...createAuthenticationStatusFunctions(services),
    ...createAlarmFunctions(services),
    ...createHealthFunctions(services),
    ...createAuthenticatePages(services),
    ...createCredentialVerificationFunctions(services),
    ...createReplicationFunctions(services),
    ...createUserFunctions(services),
    ...createDialPlanFunctions(services),
    ...createAccessFunctions(services),
    ...createAuditFunctions(services),
    ...createUserChangeFunctions(services),
    ...createLicenseFunctions(services),
    ...createNumberFunctions(services),
    ...createUserImportFunctions(services),
    ...createUserTemplateFunctions(services),
    ...createLifecycleFunctions(services),
    ...createVoiceObjectFunctions(services),
    ...createVoiceGroupAssignmentFunctions(services),
    ...createVoiceSimulateFunctions(services),
    ...createVoiceRuleBuilderFunctions(services),
    ...createEmailOutboxFunctions(async () => services.outboxDelivery),
    openApiFunction(services, () => registry),
  ];
  return registry;
}
