import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import { customerFunctions } from './customers.js';
import { openApiFunction } from './openapi.js';
import { providerSettingsFunctions } from './provider-settings.js';

/** Every function of the product; Azure's registration (index.ts) and the local host (dev/host) both read this. */
export const registry: readonly FunctionDefinition[] = [
  ...customerFunctions,
  ...providerSettingsFunctions,
  openApiFunction(() => registry),
];
