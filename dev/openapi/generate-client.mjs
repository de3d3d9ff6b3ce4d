// `npm run client:generate`: writes the portal client's types (clients/portal/src/schema.d.ts) from the OpenAPI
// document the app serves, built offline as `npm run lint` builds it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { root, withDevModules } from './dev-modules.mjs';

await withDevModules(async (load) => {
  const { openApiDocument } = await load('/dev/openapi/document.ts');
  const { portalClientTypes, PORTAL_CLIENT_SCHEMA } = await load('/dev/openapi/portal-client.ts');
  const target = join(root, PORTAL_CLIENT_SCHEMA);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, await portalClientTypes(await openApiDocument()));
  console.log(`Wrote ${PORTAL_CLIENT_SCHEMA}.`);
});
