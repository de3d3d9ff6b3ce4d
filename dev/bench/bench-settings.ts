import { randomBytes } from 'node:crypto';
import { loadSettings, type Settings } from '../../shared/config/settings.js';
import type { startSandbox } from '../sandbox/index.js';
import { sandboxEndpointSettings } from '../sandbox/product-settings.js';

/**
 * The product's settings for a bench that runs the app in its own process on in-memory storage: the sandbox's
 * addresses for its peers, a fresh secrets key, licenses that limit nothing measured.
 */
export function benchSettings(sandbox: Awaited<ReturnType<typeof startSandbox>>): Settings {
  return loadSettings({
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    ...sandboxEndpointSettings(sandbox),
    LICENSE_TENANT_COUNT: '10',
    LICENSE_USER_COUNT: '1000000',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://127.0.0.1:1',
  });
}
