import { getServices, type Services } from '../platform/services.js';
import { createScriptTemplateService, type ScriptTemplateService } from './script-template-service.js';
import { createTableScriptTemplateStore } from './script-template-store.js';

const byServices = new WeakMap<Services, ScriptTemplateService>();

/**
 * The script template service of these services, built on first use from their storage connection (so that
 * `services.ts` need not know it yet). Tests that call `useSettings` get a fresh one with their new services.
 */
export function scriptTemplatesFor(services: Services): ScriptTemplateService {
  let service = byServices.get(services);
  if (!service) {
    service = createScriptTemplateService({
      store: createTableScriptTemplateStore(services.settings.storageConnectionString),
    });
    byServices.set(services, service);
  }
  return service;
}

/** The process-wide script template service (what onboarding and background tasks render with). */
export async function getScriptTemplates(): Promise<ScriptTemplateService> {
  return scriptTemplatesFor(await getServices());
}
