import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';
import { STORAGE_CONNECTION_SETTING } from '../../shared/platform/function-definitions.js';
import { offlineApp } from '../support/offline-app.js';

/**
 * What Azure runs is the compiled `main` of package.json, imported by plain Node: vitest's module interop differs
 * from Node's (a named import from a CommonJS bundle works here and crashes there), so this test builds the
 * product and loads the entry point in a child `node`. NODE_BINARY picks that node (.ci/run passes Node 22).
 */
const root = join(import.meta.dirname, '..', '..');
const nodeBinary = process.env.NODE_BINARY ?? process.execPath;
const nodeVersion = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
const worker = join(import.meta.dirname, 'fixtures', 'functions-worker.mjs');

// Inside the project so that node_modules and "type": "module" resolve as for dist itself; apart from dist so that
// a concurrent `npm run build` (test/start) never half-writes what runs here; under dist/test, which git, eslint
// and the deployment package (.funcignore) leave out should a killed run leave it behind.
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
// Well-formed, and pointing at the discard port, so an export attempt fails fast instead of leaving the machine.
const FAKE_CONNECTION_STRING =
  'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/';

interface Registration {
  readonly name: string;
  readonly bindings: Record<string, Record<string, unknown>>;
  readonly callbackType: string;
}

interface Loaded {
  readonly node: string;
  readonly programmingModel?: string;
  readonly capabilities: Record<string, string>;
  readonly hooks: string[];
  readonly functions: Registration[];
}

function mainFile(): string {
  const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  const buildOutDir = 'dist';
  expect(main.startsWith(`${buildOutDir}/`), `package.json main ${main} is not built output`).toBe(true);
  return join(outDir, relative(buildOutDir, main));
}

function load(extraEnv: Record<string, string>): Promise<Loaded> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, [worker, mainFile()], {
      // Only what Azure would give it: no vitest or npm variables leaking into the product.
      env: { PATH: process.env.PATH ?? '', ...settings, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('REGISTRATIONS '));
      if (code !== 0 || !line) {
        reject(new Error(`loading ${mainFile()} failed (exit ${code ?? signal}):\n${stderr}\n${stdout}`));
        return;
      }
      resolve(JSON.parse(line.slice('REGISTRATIONS '.length)) as Loaded);
    });
  });
}

/** The trigger binding of a registration (its other bindings are outputs). */
function trigger(registration: Registration): Record<string, unknown> {
  const triggers = Object.values(registration.bindings).filter((b) => b.direction === 'in');
  expect(triggers, `${registration.name} has one trigger`).toHaveLength(1);
  return triggers[0]!;
}

function expectEveryDefinitionRegistered(loaded: Loaded): void {
  expect(loaded.programmingModel).toBe('@azure/functions');
  const names = loaded.functions.map((f) => f.name);
  expect(names).toEqual(registry.map((d) => d.name));
  const byName = new Map(loaded.functions.map((f) => [f.name, f]));
  for (const definition of registry) {
    const registration = byName.get(definition.name)!;
    expect(registration.callbackType, definition.name).toBe('function');
    const bound = trigger(registration);
    switch (definition.kind) {
      case 'http':
        expect(bound, definition.name).toMatchObject({
          type: 'httpTrigger',
          route: definition.route,
          methods: [...definition.methods],
          authLevel: 'anonymous',
        });
        expect(registration.bindings.$return, definition.name).toMatchObject({
          type: 'http',
          direction: 'out',
        });
        break;
      case 'timer':
        expect(bound, definition.name).toMatchObject({
          type: 'timerTrigger',
          schedule: definition.schedule,
          runOnStartup: definition.runOnStartup ?? false,
        });
        break;
      case 'queue':
        expect(bound, definition.name).toMatchObject({
          type: 'queueTrigger',
          queueName: definition.queueName,
          connection: STORAGE_CONNECTION_SETTING,
        });
        break;
    }
  }
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
    expectEveryDefinitionRegistered(loaded);
  });

  it('registers every function of the registry with Application Insights on, its telemetry hooked in', async () => {
    const loaded = await load({ APPLICATIONINSIGHTS_CONNECTION_STRING: FAKE_CONNECTION_STRING });
    // The host then leaves logs to the worker's OpenTelemetry, which the two hooks feed and correlate.
    expect(loaded.capabilities).toMatchObject({ WorkerOpenTelemetryEnabled: 'true' });
    expect(loaded.hooks).toEqual(expect.arrayContaining(['log', 'preInvocation']));
    expectEveryDefinitionRegistered(loaded);
  });

  it('fails at start-up, naming the missing settings', async () => {
    await expect(load({ API_AUDIENCE: '', LICENSE_USER_COUNT: 'many' })).rejects.toThrow(
      /API_AUDIENCE[\s\S]*LICENSE_USER_COUNT/,
    );
  });
});
