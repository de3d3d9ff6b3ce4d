import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';
import {
  expectEveryDefinitionRegistered,
  FAKE_CONNECTION_STRING,
  type Loaded,
  loadEntry,
} from '../support/functions-worker.js';
import { productionLikeSettings } from '../../dev/bench/entry-import.js';
import { offlineApp } from '../support/offline-app.js';

/**
 * The deployment package as `azd package` / `azd up` makes it: the prepackage hook of azure.yaml runs
 * `npm run package` (a fresh build into dist/package, then dev/package/assemble.js) and azd zips the `dist:` folder with the rules of
 * azd's createDeployableZip. This test runs the same script, applies those rules while copying the folder into an
 * empty directory outside the project (so that nothing resolves from the project's node_modules), and imports the
 * entry point there with plain Node (NODE_BINARY: .ci/run passes the Node major Azure runs), under the settings the
 * Function App gets in Azure. vitest's module interop differs from Node's (a named import from a CommonJS bundle
 * works here and crashes there), so only a child `node` proves that the entry point loads.
 */
const root = join(import.meta.dirname, '..', '..');
const nodeBinary = process.env.NODE_BINARY ?? process.execPath;
const nodeVersion = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
const MAX_UNPACKED_BYTES = 80 * 1_000_000;

const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lockfile = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
const azureYaml = readFileSync(join(root, 'azure.yaml'), 'utf8');

/** A setting of the one service of azure.yaml (`services: api:`, indented by four spaces). */
function serviceSetting(key: string): string | undefined {
  return new RegExp(`^ {4}${key}: *(\\S+) *$`, 'm').exec(azureYaml)?.[1];
}

// Apart from dist, so that a concurrent `npm run build` (test/start) never half-writes what is packaged here; under
// dist/test, which git, eslint and the package leave out should a killed run leave it behind.
mkdirSync(join(root, 'dist', 'test'), { recursive: true });
const buildDir = mkdtempSync(join(root, 'dist', 'test', 'package-'));
const scratch = mkdtempSync(join(tmpdir(), 'drh-package-'));
const staging = join(scratch, 'staging');
const site = join(scratch, 'site');

const IGNORE_FILE = '.funcignore';

/**
 * Copies `source` as azd zips it for a function app (cli/azd/pkg/project/project_utils.go, createDeployableZip, and
 * cli/azd/pkg/rzip/rzip.go, which follows symbolic links): it leaves out folders named .azure, files named
 * .funcignore and local.settings.json at any depth, and, as the folder has no .funcignore, for a JS/TS service every
 * folder named node_modules unless azure.yaml says `remoteBuild: false`.
 */
function copyAsAzdZips(source: string, target: string, keepNodeModules: boolean): void {
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(source)) {
    const from = join(source, name);
    const isDir = statSync(from).isDirectory();
    if (isDir && name === '.azure') continue;
    if (!isDir && (name === IGNORE_FILE || name === 'local.settings.json')) continue;
    if (isDir && name === 'node_modules' && !keepNodeModules) continue;
    if (isDir) copyAsAzdZips(from, join(target, name), keepNodeModules);
    else copyFileSync(from, join(target, name));
  }
}

/** Every file under `dir`, relative to it with forward slashes, and the sum of their sizes. */
function inventory(dir: string): { files: string[]; bytes: number } {
  const files: string[] = [];
  let bytes = 0;
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else {
        files.push(relative(dir, path).split(sep).join('/'));
        bytes += stat.size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

/** The package folders of a node_modules tree, as lockfile paths (`node_modules/a/node_modules/@s/b`). */
function installedPackages(dir: string, prefix = 'node_modules'): string[] {
  const found: string[] = [];
  const base = join(dir, ...prefix.split('/'));
  if (!existsSync(base)) return found;
  for (const name of readdirSync(base)) {
    if (name.startsWith('.')) continue;
    const names = name.startsWith('@')
      ? readdirSync(join(base, name)).map((inner) => `${name}/${inner}`)
      : [name];
    for (const packageName of names) {
      const path = `${prefix}/${packageName}`;
      found.push(path, ...installedPackages(dir, `${path}/node_modules`));
    }
  }
  return found;
}

// Production-like: identity-based storage (no AzureWebJobsStorage connection string), Key Vault references already
// resolved by the platform, Application Insights on.
const account = 'drhpackagetest';
// Identity-based storage named by service URIs, as the Bicep sets it, instead of by account name.
const { AzureWebJobsStorage__accountName: _byName, ...productionLike } = productionLikeSettings(account);
const settings: Record<string, string> = {
  ...productionLike,
  AzureWebJobsStorage__blobServiceUri: `https://${account}.blob.core.windows.net/`,
  AzureWebJobsStorage__queueServiceUri: `https://${account}.queue.core.windows.net/`,
  AzureWebJobsStorage__tableServiceUri: `https://${account}.table.core.windows.net/`,
  APPLICATIONINSIGHTS_CONNECTION_STRING: FAKE_CONNECTION_STRING,
};

let registry: readonly FunctionDefinition[] = [];
let contents: { files: string[]; bytes: number } = { files: [], bytes: 0 };

beforeAll(async () => {
  const app = offlineApp();
  registry = app.registry;
  await app.close();

  // `npm run package`, with the build written apart (see buildDir) and the staging folder outside the project.
  // A fresh build of its own: a file left in dist/ by a deleted source must not reach the package.
  expect(packageJson.scripts.package).toBe(
    `node -e "require('node:fs').rmSync('dist/package',{recursive:true,force:true})" && ` +
      'tsc -p tsconfig.build.json --outDir dist/package && node dist/package/dev/package/assemble.js',
  );
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      buildDir,
    ],
    { cwd: root, stdio: 'pipe' },
  );
  execFileSync(
    process.execPath,
    [join(buildDir, 'dev', 'package', 'assemble.js'), '--project', root, '--out', staging],
    { cwd: root, stdio: 'pipe' },
  );

  // azd reads the ignore file from the folder it zips; there is none, so only its fixed rules apply.
  expect(existsSync(join(staging, IGNORE_FILE)), `${IGNORE_FILE} in the staging folder`).toBe(false);
  copyAsAzdZips(staging, site, serviceSetting('remoteBuild') === 'false');
  contents = inventory(site);
}, 300_000);

// Thirteen thousand files: on a machine busy with other suites, removing them can take longer than a minute.
afterAll(() => {
  rmSync(buildDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}, 300_000);

describe('the deployment package azd zips', () => {
  it('is what azure.yaml has azd deploy: the folder npm run package assembles, deployed as it is', () => {
    expect(serviceSetting('dist')).toBe('.azure-package');
    expect(serviceSetting('remoteBuild')).toBe('false');
    // The prepackage hook, once for each shell azd may use.
    expect(azureYaml.match(/^ {10}run: npm run package$/gm)).toHaveLength(2);
    // azd checks the project's ignore file against remoteBuild: false; its patterns are anchored at the root, as an
    // unanchored `infra` once took node_modules/undici/lib/web/infra out of the package.
    const patterns = readFileSync(join(root, IGNORE_FILE), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(patterns.filter((pattern) => !/^!?\//.test(pattern))).toEqual([]);
    expect(patterns).not.toContain('/node_modules');
    expect(existsSync(join(site, 'node_modules', 'undici', 'lib', 'web', 'infra'))).toBe(true);
  });

  it('holds the build, host.json, package*.json and node_modules, and no sources, tests or dev tools', () => {
    expect(readdirSync(site).sort()).toEqual(
      ['dist', 'host.json', 'node_modules', 'package-lock.json', 'package.json'].sort(),
    );
    expect(readdirSync(join(site, 'dist')).sort()).toEqual(['functions', 'shared']);
    const outside = contents.files.filter((f) => !f.startsWith('node_modules/'));
    expect(outside.filter((f) => /\.[mc]?ts$/.test(f))).toEqual([]);
    expect(existsSync(join(site, packageJson.main))).toBe(true);
  });

  it('holds the production dependencies of package-lock.json and no devDependency', () => {
    const installed = installedPackages(site);
    const devNames = Object.keys(packageJson.devDependencies);
    expect(devNames.length).toBeGreaterThan(0);
    expect(devNames.filter((name) => installed.includes(`node_modules/${name}`))).toEqual([]);
    // Nor any package only devDependencies need (flagged dev in the lockfile), at any depth, nor one it does not know.
    expect(installed.filter((path) => lockfile.packages[path]?.dev === true)).toEqual([]);
    expect(installed.filter((path) => !(path in lockfile.packages))).toEqual([]);
    // What npm ci --omit=dev installs here, less the declaration-only @types packages some dependencies list.
    const production = Object.keys(lockfile.packages).filter(
      (path) =>
        path.startsWith('node_modules/') &&
        lockfile.packages[path]?.dev !== true &&
        !/node_modules\/@types\//.test(path),
    );
    expect(installed.sort()).toEqual(production.filter((path) => existsSync(join(root, path))).sort());
  });

  it(`is under ${MAX_UNPACKED_BYTES / 1_000_000} MB unpacked`, () => {
    console.log(
      `deployment package: ${contents.files.length} files, ${(contents.bytes / 1_000_000).toFixed(1)} MB unpacked`,
    );
    expect(contents.bytes).toBeLessThan(MAX_UNPACKED_BYTES);
  });

  function load(env: Record<string, string>): Promise<Loaded> {
    return loadEntry({ node: nodeBinary, entry: join(site, packageJson.main), env, cwd: site });
  }

  it(`registers every function of the registry when imported from the package by plain Node ${nodeVersion}`, async () => {
    const loaded = await load(settings);
    expect(loaded.node).toBe(nodeVersion);
    // The host then leaves logs to the worker's OpenTelemetry, which the two hooks feed and correlate.
    expect(loaded.capabilities).toMatchObject({ WorkerOpenTelemetryEnabled: 'true' });
    expect(loaded.hooks).toEqual(expect.arrayContaining(['log', 'preInvocation']));
    expectEveryDefinitionRegistered(loaded, registry);
  });

  it('registers every function with telemetry off (no Application Insights connection string)', async () => {
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _off, ...withoutTelemetry } = settings;
    const loaded = await load(withoutTelemetry);
    expect(loaded.capabilities).not.toHaveProperty('WorkerOpenTelemetryEnabled');
    expectEveryDefinitionRegistered(loaded, registry);
  });

  it('fails at start-up, naming every setting at fault', async () => {
    await expect(load({ ...settings, API_AUDIENCE: '', LICENSE_USER_COUNT: 'many' })).rejects.toThrow(
      /API_AUDIENCE[\s\S]*LICENSE_USER_COUNT/,
    );
  });
});
