import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { getServices } from '../shared/platform/services.js';
import { alarmFunctions } from './alarms.js';
import { authenticationStatusFunctions } from './authentication-status.js';
import { authenticatePages } from './authenticate.js';
import { credentialVerificationFunctions } from './credential-verification.js';
import { customerFunctions } from './customers.js';
import { createEmailOutboxFunctions } from './email-outbox.js';
import { invitationFunctions } from './invitations.js';
import { onboardingSettingsFunctions } from './onboarding-settings.js';
import { openApiFunction } from './openapi.js';
import { providerSettingsFunctions } from './provider-settings.js';
import { accessFunctions } from './access.js';
import { auditFunctions } from './audit.js';
import { licenceFunctions } from './licences.js';
import { dialPlanFunctions } from './dialplan.js';
import { healthFunctions } from './health.js';
import { replicationFunctions } from './replication.js';
import { sbcInventoryFunctions } from './sbc-inventory.js';
import { onboardingFunctions } from './onboarding.js';
import { scriptTemplateFunctions } from './script-templates.js';
import { taskFunctions } from './tasks.js';
import { wizardFunctions } from './wizard.js';

/** Every function of the product; Azure's registration (index.ts) and the local host (dev/host) both read this. */
export const registry: readonly FunctionDefinition[] = [
  ...customerFunctions,
  ...providerSettingsFunctions,
  ...onboardingSettingsFunctions,
  ...sbcInventoryFunctions,
  ...wizardFunctions,
  ...scriptTemplateFunctions,
  ...onboardingFunctions,
  ...taskFunctions,
  ...invitationFunctions,
  ...authenticationStatusFunctions,
  ...alarmFunctions,
  ...healthFunctions,
  ...authenticatePages,
  ...credentialVerificationFunctions,
  ...replicationFunctions,
  ...dialPlanFunctions,
  ...accessFunctions,
  ...auditFunctions,
  ...licenceFunctions,
  ...createEmailOutboxFunctions(async () => (await getServices()).outboxDelivery),
  openApiFunction(() => registry),
];
