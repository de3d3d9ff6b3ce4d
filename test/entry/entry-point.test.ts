import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';
import {
  expectEveryDefinitionRegistered,
  FAKE_CONNECTION_STRING,
  type Loaded,
  loadEntry,
} from '../support/functions-worker.js';
import { offlineApp } from '../support/offline-app.js';

/**
 * What Azure runs is the compiled `main` of package.json, imported by plain Node: vitest's module interop differs
 * from Node's (a named import from a CommonJS bundle works here and crashes there), so this test builds the
 * product and loads the entry point in a child `node`. NODE_BINARY picks that node (.ci/run passes Node 22).
 */
const root = join(import.meta.dirname, '..', '..');
const nodeBinary = process.env.NODE_BINARY ?? process.execPath;
const nodeVersion = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();

// Inside the project so that node_modules and "type": "module" resolve as for dist itself; apart from dist so that
// a concurrent `npm run build` (test/start) never half-writes what runs here; under dist/test, which git, eslint
// and the deployment package (dev/package/assemble.ts) leave out should a killed run leave it behind.
mkdirSync(join(root, 'dist', 'test'), { recursive: true });
const outDir = mkdtempSync(join(root, 'dist', 'test', 'entry-point-'));

const settings = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  API_TENANT_ID: '11111111-1111-1111-1111-111111111111',
  API_AUDIENCE: 'api://direct-routing-hub',
  PUBLIC_BASE_URL: 'https://drh.example.test',
  SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  LICENSE_TENANT_COUNT: '20',
  LICENSE_USER_COUNT: '10000',
};
function mainFile(): string {
  const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  const buildOutDir = 'dist';
  expect(main.startsWith(`${buildOutDir}/`), `package.json main ${main} is not built output`).toBe(true);
  return join(outDir, relative(buildOutDir, main));
}

function load(extraEnv: Record<string, string>): Promise<Loaded> {
  return loadEntry({ node: nodeBinary, entry: mainFile(), env: { ...settings, ...extraEnv } });
}

// The registry the composition root builds: what the entry point must hand to @azure/functions, every entry.
let registry: readonly FunctionDefinition[] = [];

beforeAll(async () => {
  const app = offlineApp();
  registry = app.registry;
  await app.close();
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
    { cwd: root, stdio: 'pipe' },
  );
}, 180_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe(`package.json main, built and imported by plain Node ${nodeVersion} as the Functions worker does`, () => {
  it('registers every function of the registry, telemetry off', async () => {
    const loaded = await load({});
    expect(loaded.node).toBe(nodeVersion);
    expect(loaded.capabilities).not.toHaveProperty('WorkerOpenTelemetryEnabled');
    expectEveryDefinitionRegistered(loaded, registry);
  });

  it('registers every function of the registry with Application Insights on, its telemetry hooked in', async () => {
    const loaded = await load({ APPLICATIONINSIGHTS_CONNECTION_STRING: FAKE_CONNECTION_STRING });
    // The host then leaves logs to the worker's OpenTelemetry, which the two hooks feed and correlate.
    expect(loaded.capabilities).toMatchObject({ WorkerOpenTelemetryEnabled: 'true' });
    expect(loaded.hooks).toEqual(expect.arrayContaining(['log', 'preInvocation']));
    expectEveryDefinitionRegistered(loaded, registry);
  });

  it('fails at start-up, naming the missing settings', async () => {
    await expect(load({ API_AUDIENCE: '', LICENSE_USER_COUNT: 'many' })).rejects.toThrow(
      /API_AUDIENCE[\s\S]*LICENSE_USER_COUNT/,
    );
  });
});
