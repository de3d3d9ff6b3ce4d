import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';
import {
  expectEveryDefinitionRegistered,
  FAKE_CONNECTION_STRING,
  type Loaded,
  loadEntry,
  productionLikeSettings,
} from '../support/functions-worker.js';
import { offlineApp } from '../support/offline-app.js';

/**
 * What a cold start loads (docs/decisions.md, 75 and 82): the entry point (package.json "main", built from
 * functions/index.ts) is imported by a plain `node` child as the Functions worker imports it (the bench's
 * measurement, dev/bench/entry-import.ts), from the sources, with hooks that record every module Node loads. The per-feature SDKs and the telemetry distro must not be among
 * them: they load when first used. How long the import takes is the bench's business (`coldImportMs`), not a test's.
 */
const root = join(import.meta.dirname, '..', '..');
const register = pathToFileURL(join(root, 'test', 'support', 'ts-source-register.mjs')).href;
const scratch = mkdtempSync(join(tmpdir(), 'drh-cold-start-'));

/**
 * Each needed on its first use: an API token verified, an outbound call, an Entra token, a DNS record, an email, a
 * table or queue used (the storage SDKs and the Azure pipeline under them), a template or page rendered, a CSV read
 * or written (docs/decisions.md, 75 and 82).
 */
const ON_FIRST_USE = [
  'jose',
  'undici',
  '@azure/identity',
  '@azure/msal-node',
  '@azure/arm-dns',
  '@azure/communication-email',
  'nodemailer',
  '@azure/data-tables',
  '@azure/storage-queue',
  '@azure/storage-common',
  '@azure/core-client',
  '@azure/core-xml',
  'fast-xml-parser',
  'handlebars',
  'csv-parse',
  'csv-stringify',
];
/** The Azure SDKs' HTTP pipeline: on first use too, unless the distro (whose exporter sends through it) loaded it. */
const AZURE_PIPELINE = ['@azure/core-rest-pipeline', '@typespec/ts-http-runtime'];
/** The Graph SDK loads with the first client made; telling its errors apart needs only its GraphError's own file. */
const GRAPH_SDK_INDEX = '/node_modules/@microsoft/microsoft-graph-client/lib/src/index.js';
/** The Azure Monitor OpenTelemetry distro and its instrumentations: only with Application Insights configured. */
const TELEMETRY = [
  '@azure/monitor-opentelemetry',
  '@azure/functions-opentelemetry-instrumentation',
  '@opentelemetry/instrumentation',
];

// Production-like: identity-based storage (its credential is made at start-up, its SDK loaded on the first token;
// the storage SDKs on the first table or queue used).
const settings = productionLikeSettings('drhcoldstart');

interface ColdStart {
  readonly loaded: Loaded;
  /** Every module loaded, in order, as file URLs. */
  readonly modules: readonly string[];
  /** The npm packages among them (the innermost node_modules folder's package). */
  readonly packages: ReadonlySet<string>;
}

async function coldStart(name: string, env: Record<string, string>): Promise<ColdStart> {
  const record = join(scratch, `${name}.txt`);
  const loaded = await loadEntry({
    node: process.execPath,
    entry: join(root, 'functions', 'index.ts'),
    env: {
      ...env,
      LOADED_MODULES_FILE: record,
      NODE_OPTIONS: `--import=${register}`,
    },
  });
  const modules = readFileSync(record, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(
    modules.flatMap((url) => /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []),
  );
  return { loaded, modules, packages };
}

let registry: readonly FunctionDefinition[] = [];
let plain: ColdStart;
let monitored: ColdStart;

beforeAll(async () => {
  const app = offlineApp();
  registry = app.registry;
  await app.close();
  [plain, monitored] = await Promise.all([
    coldStart('plain', settings),
    coldStart('monitored', { ...settings, APPLICATIONINSIGHTS_CONNECTION_STRING: FAKE_CONNECTION_STRING }),
  ]);
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the entry point's cold start", () => {
  it('registers every function while loading no per-feature SDK and no telemetry distro', () => {
    expectEveryDefinitionRegistered(plain.loaded, registry);
    // What start-up does need is there: the recording sees the packages the registration and storage use.
    expect([...plain.packages]).toEqual(expect.arrayContaining(['@azure/functions', 'zod']));
    expect([...plain.packages].filter((name) => ON_FIRST_USE.includes(name))).toEqual([]);
    expect([...plain.packages].filter((name) => AZURE_PIPELINE.includes(name))).toEqual([]);
    expect(plain.modules.filter((url) => url.endsWith(GRAPH_SDK_INDEX))).toEqual([]);
    expect([...plain.packages].filter((name) => TELEMETRY.includes(name))).toEqual([]);
  });

  it('starts the distro with Application Insights configured, before the composition root, and no feature SDK', () => {
    expectEveryDefinitionRegistered(monitored.loaded, registry);
    expect(monitored.loaded.hooks.length).toBeGreaterThan(0);
    expect([...monitored.packages]).toEqual(expect.arrayContaining(TELEMETRY));
    const distro = monitored.modules.findIndex((url) =>
      url.includes('/node_modules/@azure/monitor-opentelemetry/'),
    );
    const root = monitored.modules.findIndex((url) => url.endsWith('/functions/app.ts'));
    expect(distro).toBeGreaterThanOrEqual(0);
    expect(root).toBeGreaterThan(distro);
    expect([...monitored.packages].filter((name) => ON_FIRST_USE.includes(name))).toEqual([]);
  });
});
