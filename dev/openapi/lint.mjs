// Writes the OpenAPI document the app serves to dist/openapi.json and lints it with Redocly (redocly.yaml).
// The TypeScript sources are loaded through Vite, which vitest already brings, so no build is needed first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const output = join(root, 'dist', 'openapi.json');

const vite = await createServer({
  configFile: false,
  root,
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
try {
  const { openApiDocument } = await vite.ssrLoadModule('/dev/openapi/document.ts');
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
} finally {
  await vite.close();
}

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
process.exit(result.status ?? 1);
