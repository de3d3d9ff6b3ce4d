import { apiDocument } from '../../functions/openapi.js';
import { offlineApp } from '../offline-app.js';

/**
 * The OpenAPI document as `GET /api/v1/openapi.json` serves it, built from the registry of an app whose settings
 * reach nothing: no storage, no network, so `npm run lint` can check it on a fresh machine.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const app = offlineApp();
  try {
    return apiDocument(app.registry);
  } finally {
    await app.close();
  }
}
