import { randomBytes } from 'node:crypto';
import { createApp } from '../../functions/app.js';
import { apiDocument } from '../../functions/openapi.js';
import { loadSettings } from '../../shared/config/settings.js';

/**
 * The OpenAPI document as `GET /api/v1/openapi.json` serves it, built from the registry of an app whose settings
 * reach nothing: no storage, no network, so `npm run lint` can check it on a fresh machine.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const app = createApp(
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
  try {
    return apiDocument(app.registry);
  } finally {
    await app.close();
  }
}
