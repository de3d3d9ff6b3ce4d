import { randomBytes } from 'node:crypto';
import { type App, createApp } from '../functions/app.js';
import { loadSettings } from '../shared/config/settings.js';

/**
 * The product built from settings that reach nothing: for what reads what the composition root assembles (the
 * registry, the OpenAPI document) without calling a function — `npm run lint`'s document, the tests. Close it to
 * free the transport.
 */
export function offlineApp(): App {
  return createApp(
    loadSettings({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      API_TENANT_ID: '00000000-0000-0000-0000-000000000001',
      API_AUDIENCE: 'api://direct-routing-hub',
      PUBLIC_BASE_URL: 'https://hub.example.com',
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      LICENSE_TENANT_COUNT: '1',
      LICENSE_USER_COUNT: '1',
    }),
  );
}
