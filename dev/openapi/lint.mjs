// Writes the OpenAPI document the app serves to dist/openapi.json and lints it with Redocly (redocly.yaml), then
// checks that the portal client's committed types (clients/portal) are the ones this document generates.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { root, withDevModules } from './dev-modules.mjs';

const output = join(root, 'dist', 'openapi.json');

const drift = await withDevModules(async (load) => {
  const { openApiDocument } = await load('/dev/openapi/document.ts');
  const { portalClientTypes, PORTAL_CLIENT_SCHEMA } = await load('/dev/openapi/portal-client.ts');
  const document = await openApiDocument();
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, `${JSON.stringify(document, null, 2)}\n`);
  const committed = join(root, PORTAL_CLIENT_SCHEMA);
  const current = existsSync(committed) ? readFileSync(committed, 'utf8') : '';
  return current === (await portalClientTypes(document)) ? undefined : PORTAL_CLIENT_SCHEMA;
});

const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');
const result = spawnSync(
  process.execPath,
  [cli, 'lint', output, '--config', join(root, 'redocly.yaml'), '--format', 'stylish'],
  {
    stdio: 'inherit',
    // Offline and quiet: no usage telemetry, no look-up of a newer version.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  },
);
if (drift)
  console.error(`${drift} is not what the current OpenAPI document generates: run npm run client:generate.`);
process.exit(drift ? 1 : (result.status ?? 1));
