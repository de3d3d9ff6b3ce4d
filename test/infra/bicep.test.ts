import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../shared/config/settings.js';
import { offlineApp } from '../support/offline-app.js';

const root = join(import.meta.dirname, '..', '..');
const app = offlineApp();
afterAll(() => app.close());
const main = readFileSync(join(root, 'infra', 'main.bicep'), 'utf8');

function files(dir: string, extension: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path, extension);
    return path.endsWith(extension) ? [path] : [];
  });
}

/** The string items of a `var name = [ ... ]` array in main.bicep. */
function bicepArray(name: string): string[] {
  const block = new RegExp(`var ${name} = \\[([^\\]]*)\\]`).exec(main)?.[1];
  if (!block) throw new Error(`main.bicep declares no ${name}`);
  return [...block.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

/** Table names the code declares (`export const X_TABLE = '…'`) anywhere under shared/. */
function codeTables(): string[] {
  return files(join(root, 'shared'), '.ts').flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/export const \w+_TABLE = '([a-z0-9]+)'/gi)].map((m) => m[1]!),
  );
}

describe('infra/main.bicep', () => {
  it('declares every table the code uses, and no other', () => {
    expect(new Set(bicepArray('tableNames'))).toEqual(new Set(codeTables()));
  });

  it('declares every queue a function listens on or the code sends to, with its poison queue', () => {
    const listened = app.registry.flatMap((d) => (d.kind === 'queue' ? [d.queueName] : []));
    const sentTo = files(join(root, 'shared'), '.ts').flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/export const \w+_QUEUE = '([a-z0-9-]+)'/g)].map((m) => m[1]!),
    );
    expect(new Set(bicepArray('queueNames'))).toEqual(new Set([...listened, ...sentTo]));
    expect(main).toContain("map(queueNames, q => '${q}-poison')");
  });

  it('sets every required setting of the settings schema, and only settings the schema knows', () => {
    const block = /var appSettings = \{([\s\S]*?)\n\}/.exec(main)?.[1] ?? '';
    const set = [...block.matchAll(/^\s+(\w+):/gm)].map((m) => m[1]!);
    const shape = settingsSchema.in.shape;
    const required = Object.entries(shape)
      .filter(([, schema]) => !schema.safeParse(undefined).success)
      .map(([name]) => name);
    for (const name of required) expect(set, `${name} is required but not set`).toContain(name);
    for (const name of set) {
      expect(
        // Besides the product's settings: the telemetry ones, read by the Functions host and the OpenTelemetry distro.
        [
          ...Object.keys(shape),
          'APPLICATIONINSIGHTS_CONNECTION_STRING',
          'AzureFunctionsJobHost__telemetryMode',
        ],
        `${name} is unknown`,
      ).toContain(name);
    }
  });

  it('deploys a Node major that package.json engines allow (.ci/run boots the product under it)', () => {
    const deployed = /runtime: \{ name: 'node', version: '(\d+)' \}/.exec(main)?.[1];
    expect(deployed, 'main.bicep deploys no node runtime version').toBeDefined();
    const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const minimumMajor = /^>=(\d+)/.exec(engines.node)?.[1];
    expect(Number(deployed)).toBeGreaterThanOrEqual(Number(minimumMajor));
  });

  it('has no unresolved references and every module file exists', () => {
    for (const file of files(join(root, 'infra'), '.bicep')) {
      const text = readFileSync(file, 'utf8')
        .replace(/\/\/.*$/gm, '')
        .replace(/'(?:[^'\\]|\\.)*'/g, (literal) =>
          // Keep interpolations, drop the literal text around them.
          [...literal.matchAll(/\$\{([^}]*)\}/g)].map((m) => ` ${m[1]} `).join(' '),
        );
      const declared = new Set([
        ...[...text.matchAll(/^(?:param|var|resource|module|output)\s+(\w+)/gm)].map((m) => m[1]!),
        ...[...text.matchAll(/\bfor\s+(\w+)\s+in\b/g)].map((m) => m[1]!),
        ...[...text.matchAll(/\b(\w+)\s*=>/g)].map((m) => m[1]!),
      ]);
      const builtins = new Set(['resourceGroup', 'subscription', 'environment', 'deployment', 'tenant']);
      const referenced = [
        ...text.matchAll(
          /(?<![\w.'@])([a-zA-Z_]\w*)\.(?:id|name|properties|identity|outputs|listKeys|key|value)\b/g,
        ),
      ].map((m) => m[1]!);
      const scoped = [...text.matchAll(/\b(?:scope|parent):\s*([a-zA-Z_]\w*)\b/g)].map((m) => m[1]!);
      for (const name of [...referenced, ...scoped]) {
        if (builtins.has(name)) continue;
        expect(declared, `${relative(root, file)} references undeclared ${name}`).toContain(name);
      }
    }
    const modulePaths = [...main.matchAll(/^module\s+\w+\s+'([^']+)'/gm)].map((m) => m[1]!);
    expect(modulePaths.length).toBeGreaterThan(0);
    for (const path of modulePaths) expect(() => statSync(join(root, 'infra', path))).not.toThrow();
  });

  it('is documented: docs/deploy.md names every parameter', () => {
    const deploy = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    const params = [...main.matchAll(/^param\s+(\w+)/gm)].map((m) => m[1]!);
    expect(params.length).toBeGreaterThan(5);
    for (const param of params)
      expect(deploy, `docs/deploy.md does not name ${param}`).toContain(`\`${param}\``);
  });
});
