import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKER_NODE_ARGUMENTS } from '../../dev/host/node-arguments.js';
import { settingsSchema } from '../../shared/config/settings.js';
import { offlineApp } from '../support/offline-app.js';

/**
 * infra/ as Azure receives it: the ARM template `npm run infra:check` compiles from the Bicep sources with the pinned
 * Bicep CLI (test/infra/compiled/main.json), so that these tests run where no Bicep CLI is installed.
 */
const root = join(import.meta.dirname, '..', '..');
const app = offlineApp();
afterAll(() => app.close());
const main = readFileSync(join(root, 'infra', 'main.bicep'), 'utf8');

interface ArmResource {
  type: string;
  name: string;
  scope?: string;
  condition?: string;
  copy?: { name: string; count: string };
  tags?: Record<string, string> | string;
  identity?: { type: string };
  properties?: Record<string, unknown>;
  resourceGroup?: string;
}
interface ArmTemplate {
  parameters: Record<string, { type: string; metadata?: { description?: string } }>;
  variables: Record<string, unknown>;
  resources: ArmResource[];
  outputs: Record<string, { type: string; value: unknown; metadata?: { description?: string } }>;
}
const compiledDir = join(root, 'test', 'infra', 'compiled');
const template = JSON.parse(readFileSync(join(compiledDir, 'main.json'), 'utf8')) as ArmTemplate;
const sources = JSON.parse(readFileSync(join(compiledDir, 'sources.json'), 'utf8')) as {
  files: string[];
  sha256: string;
};

function files(dir: string, extension: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return files(path, extension);
      return path.endsWith(extension) ? [path] : [];
    })
    .sort();
}

/** As dev/infra/check.mjs hashes them: relative path (forward slashes) and LF text of each file, sorted. */
function sourcesHash(paths: string[]): string {
  const hash = createHash('sha256');
  for (const file of paths) {
    hash.update(`${relative(root, file).split(sep).join('/')}\n`);
    hash.update(readFileSync(file, 'utf8').replace(/\r\n/g, '\n'));
    hash.update('\n');
  }
  return hash.digest('hex');
}

function resourcesOf(type: string): ArmResource[] {
  return template.resources.filter((r) => r.type === type);
}

function only(type: string): ArmResource {
  const found = resourcesOf(type);
  expect(found, `one ${type}`).toHaveLength(1);
  return found[0]!;
}

/** A module (nested deployment) by the symbolic name in its deployment name, e.g. dns-zone-contributor. */
function module(prefix: string): { deployment: ArmResource; template: ArmTemplate } {
  const deployment = resourcesOf('Microsoft.Resources/deployments').find((d) =>
    d.name.includes(`'${prefix}-`),
  );
  expect(deployment, `module ${prefix}`).toBeDefined();
  return { deployment: deployment!, template: deployment!.properties!.template as ArmTemplate };
}

const appSettings = only('Microsoft.Web/sites/config').properties as Record<string, string>;

/** Table names the code declares (`export const X_TABLE = '…'`) anywhere under shared/. */
function codeTables(): string[] {
  return files(join(root, 'shared'), '.ts').flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/export const \w+_TABLE = '([a-z0-9]+)'/gi)].map((m) => m[1]!),
  );
}

describe('infra/main.bicep', () => {
  it('is what test/infra/compiled/main.json was compiled from (else: run npm run infra:check)', () => {
    const bicep = files(join(root, 'infra'), '.bicep');
    expect(
      bicep.map((f) => relative(root, f).split(sep).join('/')),
      'run npm run infra:check',
    ).toEqual(sources.files);
    expect(sourcesHash(bicep), 'infra/ changed since the snapshot: run npm run infra:check').toBe(
      sources.sha256,
    );
  });

  it('declares every table the code uses, and no other', () => {
    expect(new Set(template.variables.tableNames as string[])).toEqual(new Set(codeTables()));
    expect(resourcesOf('Microsoft.Storage/storageAccounts/tableServices/tables')[0]?.copy?.count).toBe(
      "[length(variables('tableNames'))]",
    );
  });

  it('declares every queue a function listens on or the code sends to, with its poison queue', () => {
    const listened = app.registry.flatMap((d) => (d.kind === 'queue' ? [d.queueName] : []));
    const sentTo = files(join(root, 'shared'), '.ts').flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/export const \w+_QUEUE = '([a-z0-9-]+)'/g)].map((m) => m[1]!),
    );
    expect(new Set(template.variables.queueNames as string[])).toEqual(new Set([...listened, ...sentTo]));
    const queues = only('Microsoft.Storage/storageAccounts/queueServices/queues');
    expect(queues.copy?.count).toBe(
      "[length(concat(variables('queueNames'), map(variables('queueNames'), lambda('q', format('{0}-poison', lambdaVariables('q'))))))]",
    );
  });

  it('sets every required setting of the settings schema, and only settings the schema knows', () => {
    const set = Object.keys(appSettings);
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
          // Read by the Functions host: the Node worker's flags.
          'languageWorkers__node__arguments',
        ],
        `${name} is unknown`,
      ).toContain(name);
    }
  });

  it('runs the Node worker with the V8 flags the bench measured (dev/host/node-arguments.ts)', () => {
    expect(appSettings.languageWorkers__node__arguments).toBe(WORKER_NODE_ARGUMENTS.join(' '));
  });

  it("reaches storage with the managed identity: the host's identity-based connection, no connection string", () => {
    expect(
      Object.keys(appSettings)
        .filter((name) => name.startsWith('AzureWebJobsStorage'))
        .sort(),
    ).toEqual([
      'AzureWebJobsStorage__blobServiceUri',
      'AzureWebJobsStorage__credential',
      'AzureWebJobsStorage__queueServiceUri',
      'AzureWebJobsStorage__tableServiceUri',
    ]);
    expect(appSettings.AzureWebJobsStorage__credential).toBe('managedidentity');
    for (const service of ['blob', 'queue', 'table'])
      expect(appSettings[`AzureWebJobsStorage__${service}ServiceUri`]).toMatch(
        new RegExp(
          `^\\[reference\\(resourceId\\('Microsoft\\.Storage/storageAccounts'.*\\.primaryEndpoints\\.${service}\\]$`,
        ),
      );
    expect(only('Microsoft.Storage/storageAccounts').properties).toMatchObject({
      allowSharedKeyAccess: false,
    });
    const deployment = (
      only('Microsoft.Web/sites').properties as { functionAppConfig: { deployment: unknown } }
    ).functionAppConfig.deployment;
    expect(deployment).toMatchObject({ storage: { authentication: { type: 'SystemAssignedIdentity' } } });
  });

  it('holds no account key or plaintext secret: secrets reach the app only as Key Vault references', () => {
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/listKeys|listConnectionStrings|AccountKey=|SharedAccessSignature/i);
    const secureParameters = Object.entries(template.parameters)
      .filter(([, p]) => p.type === 'securestring')
      .map(([name]) => name);
    expect(secureParameters.sort()).toEqual(['retiredSecretsEncryptionKeys', 'secretsEncryptionKey']);
    // The retired keys of a rotation reach only their own Key Vault secret (and whether there is one).
    const retiredReaders = Object.entries(template.variables).filter(([, value]) =>
      JSON.stringify(value).includes("parameters('retiredSecretsEncryptionKeys')"),
    );
    expect(retiredReaders.map(([name]) => name)).toEqual(['retiredKeys']);
    expect(
      template.resources
        .filter((r) => JSON.stringify(r).includes("variables('retiredKeys')"))
        .map((r) => r.type),
    ).toEqual(['Microsoft.KeyVault/vaults/secrets']);
    expect(JSON.stringify(template.resources)).not.toContain("parameters('retiredSecretsEncryptionKeys')");
    expect(JSON.stringify(template.outputs)).not.toContain('retired');
    // Outside a rotation the setting is empty and no secret exists; during one it is a Key Vault reference.
    expect(appSettings.SECRETS_ENCRYPTION_KEYS_RETIRED).toBe(
      "[if(variables('hasRetiredKeys'), format('@Microsoft.KeyVault(SecretUri={0})', reference(resourceId('Microsoft.KeyVault/vaults/secrets', variables('keyVaultName'), 'secrets-encryption-keys-retired'), '2023-07-01').secretUri), '')]",
    );
    // A secure parameter is read by the Key Vault secret and nothing else.
    const readers = template.resources.filter((r) =>
      JSON.stringify(r).includes("parameters('secretsEncryptionKey')"),
    );
    expect(readers.map((r) => r.type)).toEqual(['Microsoft.KeyVault/vaults/secrets']);
    expect(JSON.stringify(template.outputs)).not.toContain('secretsEncryptionKey');
    for (const [name, value] of Object.entries(appSettings))
      expect(value, `${name} reads a secure parameter`).not.toContain("parameters('secretsEncryptionKey')");
    expect(appSettings.SECRETS_ENCRYPTION_KEY).toMatch(
      /^\[format\('@Microsoft\.KeyVault\(SecretUri=\{0\}\)', reference\(resourceId\('Microsoft\.KeyVault\/vaults\/secrets', variables\('keyVaultName'\), 'secrets-encryption-key'\).*\.secretUri\)\]$/,
    );
    // The settings wait for the role assignments: the reference resolves and the host reaches storage on first start.
    const settingsResource = only('Microsoft.Web/sites/config');
    expect(settingsResource.name).toContain("'appsettings'");
    const dependsOn = (settingsResource as unknown as { dependsOn: string[] }).dependsOn;
    expect(dependsOn).toContain('storageAccess');
    expect(dependsOn.some((d) => d.includes("'Microsoft.Authorization/roleAssignments'"))).toBe(true);
    const site = only('Microsoft.Web/sites').properties as { siteConfig: Record<string, unknown> };
    expect(site.siteConfig).not.toHaveProperty('appSettings');
  });

  it('runs the Function App with a system-assigned identity, tagged for azd', () => {
    const site = only('Microsoft.Web/sites');
    expect(site.identity).toEqual({ type: 'SystemAssigned' });
    expect(site.tags).toEqual({
      'azd-env-name': "[parameters('environmentName')]",
      'azd-service-name': 'api',
    });
    // Every top-level resource with a location carries azd-env-name (the modules' deployments have none).
    const topLevel = template.resources.filter((r) => 'location' in r && r.type.split('/').length === 2);
    expect(topLevel.length).toBeGreaterThan(6);
    const untagged = topLevel.filter(
      (r) =>
        r.tags !== "[variables('tags')]" &&
        (typeof r.tags !== 'object' || r.tags['azd-env-name'] !== "[parameters('environmentName')]"),
    );
    expect(
      untagged.map((r) => r.type),
      'resources without azd-env-name',
    ).toEqual([]);
    expect(JSON.stringify(template.variables.tags)).toBe(
      JSON.stringify({ 'azd-env-name': "[parameters('environmentName')]" }),
    );
  });

  it('grants the identity exactly the roles the code needs, each at the narrowest scope', () => {
    const names: Record<string, string> = {
      'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
      '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
      '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
      '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
      'befefa01-2a29-4197-83a8-272ff33ce314': 'DNS Zone Contributor',
    };
    const roles = template.variables.roles as Record<string, string>;
    const granted: string[] = [];
    const describe = (ids: string[], scope: string | undefined) =>
      ids.map((id) => `${names[id] ?? id} on ${scope}`);

    for (const assignment of resourcesOf('Microsoft.Authorization/roleAssignments')) {
      const properties = assignment.properties as { roleDefinitionId: string; principalId: string };
      expect(properties.principalId).toBe(
        "[reference(resourceId('Microsoft.Web/sites', variables('functionAppName')), '2024-11-01', 'full').identity.principalId]",
      );
      const looped = /variables\('roles'\)\[variables\('(\w+)'\)\[copyIndex\(\)\]\]/.exec(
        properties.roleDefinitionId,
      );
      const single = /variables\('roles'\)\.(\w+)/.exec(properties.roleDefinitionId);
      const ids = looped
        ? (template.variables[looped[1]!] as string[]).map((key) => roles[key]!)
        : single
          ? [roles[single[1]!]!]
          : [];
      expect(ids.length, `role of ${assignment.name}`).toBeGreaterThan(0);
      if (looped) expect(assignment.copy?.count).toBe(`[length(variables('${looped[1]}'))]`);
      granted.push(...describe(ids, assignment.scope));
    }
    for (const deployment of resourcesOf('Microsoft.Resources/deployments')) {
      const nested = deployment.properties!.template as ArmTemplate;
      for (const assignment of nested.resources.filter(
        (r) => r.type === 'Microsoft.Authorization/roleAssignments',
      )) {
        const properties = assignment.properties as { roleDefinitionId: string; principalId: string };
        expect(properties.principalId).toBe("[parameters('principalId')]");
        const variable = /variables\('(\w+)'\)/.exec(properties.roleDefinitionId)?.[1];
        granted.push(...describe([nested.variables[variable!] as string], assignment.scope));
      }
    }
    const storage = "[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]";
    expect(granted.sort()).toEqual(
      [
        `Storage Blob Data Owner on ${storage}`,
        `Storage Queue Data Contributor on ${storage}`,
        `Storage Table Data Contributor on ${storage}`,
        "Key Vault Secrets User on [resourceId('Microsoft.KeyVault/vaults/secrets', variables('keyVaultName'), 'secrets-encryption-key')]",
        "Key Vault Secrets User on [resourceId('Microsoft.KeyVault/vaults/secrets', variables('keyVaultName'), 'secrets-encryption-keys-retired')]",
        "DNS Zone Contributor on [resourceId('Microsoft.Network/dnsZones', parameters('dnsZoneName'))]",
      ].sort(),
    );

    // The DNS module: the identity's principal, the zone parameter, one deployment name per environment.
    const dns = module('dns-zone-contributor');
    expect(dns.deployment.condition).toBe("[not(empty(parameters('dnsZoneName')))]");
    expect(dns.deployment.name).toBe("[format('dns-zone-contributor-{0}', variables('resourceToken'))]");
    expect(dns.deployment.properties!.parameters).toMatchObject({
      dnsZoneName: { value: "[parameters('dnsZoneName')]" },
      principalId: {
        value:
          "[reference(resourceId('Microsoft.Web/sites', variables('functionAppName')), '2024-11-01', 'full').identity.principalId]",
      },
    });
  });

  it("derives every resource name from environmentName within its resource's length and character rules", () => {
    // Letters and digits of the environment name, or every other character as a hyphen, then a 13-character hash.
    expect(template.variables.compactName).toBe(
      "[join(filter(variables('environmentCharacters'), lambda('c', contains(variables('alphanumerics'), lambdaVariables('c')))), '')]",
    );
    expect(template.variables.alphanumerics).toBe('abcdefghijklmnopqrstuvwxyz0123456789');
    expect(template.variables.environmentCharacters).toBe(
      "[map(range(0, length(variables('lowerEnvironmentName'))), lambda('i', substring(variables('lowerEnvironmentName'), lambdaVariables('i'), 1)))]",
    );
    const rules: Record<string, { variable: string; max: number; characters: RegExp; part: string }> = {
      'Microsoft.Storage/storageAccounts': {
        variable: 'storageName',
        max: 24,
        characters: /^[a-z]+$/,
        part: 'compactName',
      },
      'Microsoft.KeyVault/vaults': {
        variable: 'keyVaultName',
        max: 24,
        characters: /^[a-z]+$/,
        part: 'compactName',
      },
      'Microsoft.Web/sites': {
        variable: 'functionAppName',
        max: 60,
        characters: /^[a-z-]+$/,
        part: 'dashedName',
      },
      'Microsoft.Web/serverfarms': {
        variable: 'planName',
        max: 60,
        characters: /^[a-z-]+$/,
        part: 'dashedName',
      },
      'Microsoft.OperationalInsights/workspaces': {
        variable: 'logsName',
        max: 63,
        characters: /^[a-z-]+$/,
        part: 'dashedName',
      },
      'Microsoft.Insights/components': {
        variable: 'insightsName',
        max: 260,
        characters: /^[a-z-]+$/,
        part: 'dashedName',
      },
      'Microsoft.Communication/emailServices': {
        variable: 'emailServiceName',
        max: 63,
        characters: /^[a-z-]+$/,
        part: 'dashedName',
      },
      'Microsoft.Communication/communicationServices': {
        variable: 'communicationName',
        max: 63,
        characters: /^[a-z-]+$/,
        part: 'dashedName',
      },
    };
    for (const [type, rule] of Object.entries(rules)) {
      expect(only(type).name, type).toBe(`[variables('${rule.variable}')]`);
      const expression = template.variables[rule.variable] as string;
      const parsed = new RegExp(
        `^\\[format\\('([a-z-]*)\\{0\\}([a-z-]*)\\{1\\}', take\\(variables\\('${rule.part}'\\), (\\d+)\\), variables\\('(?:resourceToken|keyVaultToken)'\\)\\)\\]$`,
      ).exec(expression);
      expect(parsed, `${rule.variable}: ${expression}`).not.toBeNull();
      const [, prefix, separator, taken] = parsed!;
      // uniqueString: 13 lowercase letters and digits.
      expect(prefix!.length + Number(taken) + separator!.length + 13, rule.variable).toBeLessThanOrEqual(
        rule.max,
      );
      expect(prefix! + separator!, rule.variable).toMatch(rule.characters);
      // Starts with a letter (Key Vault, storage and sites need it) and never ends with a hyphen.
      expect(prefix, rule.variable).toMatch(/^[a-z]/);
    }
    expect(template.variables.keyVaultToken).toBe(
      "[uniqueString(subscription().id, resourceGroup().id, parameters('environmentName'), 'key-vault', string(parameters('keyVaultGeneration')))]",
    );
  });

  it("answers CORS on Azure's platform for the portal's origins, the same list the app checks, never with credentials", () => {
    const siteConfig = (only('Microsoft.Web/sites').properties as { siteConfig: { cors: unknown } })
      .siteConfig;
    expect(siteConfig.cors).toEqual({
      allowedOrigins:
        "[if(empty(parameters('corsAllowedOrigins')), createArray(), map(split(parameters('corsAllowedOrigins'), ','), lambda('origin', trim(lambdaVariables('origin')))))]",
      supportCredentials: false,
    });
    expect(appSettings.API_CORS_ALLOWED_ORIGINS).toBe("[parameters('corsAllowedOrigins')]");
    // The host reads CORS_ALLOWED_ORIGINS itself, from siteConfig.cors: an app setting of that name would clash.
    expect(Object.keys(appSettings)).not.toContain('CORS_ALLOWED_ORIGINS');
  });

  it('gives every module deployment a name unique to the environment', () => {
    for (const deployment of resourcesOf('Microsoft.Resources/deployments'))
      expect(deployment.name).toMatch(/^\[format\('[a-z-]+-\{0\}', variables\('resourceToken'\)\)\]$/);
    expect(template.variables.resourceToken).toBe(
      "[uniqueString(subscription().id, resourceGroup().id, parameters('environmentName'))]",
    );
  });

  it('binds an optional custom domain with a managed certificate and SNI, and its DNS records in the zone', () => {
    const binding = only('Microsoft.Web/sites/hostNameBindings');
    const certificate = only('Microsoft.Web/sites/certificates');
    for (const resource of [binding, certificate])
      expect(resource.condition).toBe("[not(empty(variables('customDomainChecked')))]");
    expect(certificate.properties).toMatchObject({ canonicalName: "[variables('customDomainChecked')]" });
    expect(certificate.properties).not.toHaveProperty('pfxBlob');
    const sni = module('custom-domain-sni').template.resources[0]!;
    expect(sni.properties).toMatchObject({
      sslState: 'SniEnabled',
      thumbprint: "[parameters('thumbprint')]",
    });
    const dns = module('custom-domain-dns');
    expect(dns.template.resources.map((r) => r.type).sort()).toEqual([
      'Microsoft.Network/dnsZones/CNAME',
      'Microsoft.Network/dnsZones/TXT',
    ]);
    expect(JSON.stringify(dns.deployment.properties!.parameters)).toContain('.customDomainVerificationId');
    expect(appSettings.PUBLIC_BASE_URL).toMatch(
      /^\[if\(not\(empty\(variables\('customDomainChecked'\)\)\), format\('https:\/\/\{0\}', variables\('customDomainChecked'\)\)/,
    );
  });

  it('names every parameter and output with a description, and has the azd outputs', () => {
    for (const [name, parameter] of Object.entries(template.parameters))
      expect(parameter.metadata?.description, `parameter ${name}`).toBeTruthy();
    for (const [name, output] of Object.entries(template.outputs))
      expect(output.metadata?.description, `output ${name}`).toBeTruthy();
    expect(Object.keys(template.outputs).sort()).toEqual(
      [
        'ACS_ENDPOINT',
        'AZURE_CUSTOM_DOMAIN_VERIFICATION_ID',
        'AZURE_FUNCTION_APP_DEFAULT_URI',
        'AZURE_FUNCTION_APP_NAME',
        'AZURE_FUNCTION_APP_PRINCIPAL_ID',
        'AZURE_KEY_VAULT_NAME',
        'AZURE_LOCATION',
        'AZURE_RESOURCE_GROUP',
        'AZURE_STORAGE_ACCOUNT_NAME',
        'AZURE_TENANT_ID',
        'EMAIL_SENDER_DOMAIN',
        'OAUTH_REDIRECT_URI',
        'SERVICE_API_NAME',
        'SERVICE_API_URI',
      ].sort(),
    );
    expect(template.outputs.OAUTH_REDIRECT_URI!.value).toMatch(/\/authenticate\/OAuth2Callback'/);
  });

  it('maps every parameter of main.bicep in main.parameters.json, and only those', () => {
    const parameters = JSON.parse(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: string }>;
    };
    expect(parameters.parameters.environmentName?.value).toBe('${AZURE_ENV_NAME}');
    for (const name of Object.keys(parameters.parameters))
      expect(Object.keys(template.parameters), `main.parameters.json maps unknown ${name}`).toContain(name);
    const required = Object.entries(template.parameters)
      .filter(([, p]) => !('defaultValue' in p))
      .map(([name]) => name);
    for (const name of required)
      expect(Object.keys(parameters.parameters), `${name} unmapped`).toContain(name);
  });

  it('validates secretsEncryptionKey as the app does: base64 of exactly 32 bytes, 44 characters ending in one =', () => {
    expect(template.parameters.secretsEncryptionKey).toMatchObject({ minLength: 44, maxLength: 44 });
    const secrets = resourcesOf('Microsoft.KeyVault/vaults/secrets');
    const secret = secrets.find((r) => r.name.includes("'secrets-encryption-key'"))!.properties as {
      value: string;
    };
    expect(secret.value).toBe(
      "[if(and(endsWith(parameters('secretsEncryptionKey'), '='), not(endsWith(parameters('secretsEncryptionKey'), '=='))), parameters('secretsEncryptionKey'), fail('secretsEncryptionKey must be 32 random bytes, base64-encoded (openssl rand -base64 32).'))]",
    );
    // The retired keys (a rotation): each checked the same way, the secret deployed only when there is one.
    expect(template.parameters.retiredSecretsEncryptionKeys).toMatchObject({ defaultValue: '' });
    const retired = secrets.find((r) => r.name.includes("'secrets-encryption-keys-retired'"))!;
    expect(retired.condition).toBe("[variables('hasRetiredKeys')]");
    expect((retired.properties as { value: string }).value).toBe(
      "[if(equals(length(filter(variables('retiredKeys'), lambda('key', or(or(not(equals(length(lambdaVariables('key')), 44)), not(endsWith(lambdaVariables('key'), '='))), endsWith(lambdaVariables('key'), '=='))))), 0), join(variables('retiredKeys'), ','), fail('retiredSecretsEncryptionKeys must be comma-separated keys of 32 random bytes, base64-encoded.'))]",
    );
  });

  it('lets a re-provision pick a new Key Vault name, and leaves purge protection to the operator (off by default)', () => {
    expect(template.parameters.keyVaultPurgeProtection).toMatchObject({ type: 'bool', defaultValue: false });
    expect(template.parameters.keyVaultGeneration).toMatchObject({ type: 'int', defaultValue: 1 });
    const vault = only('Microsoft.KeyVault/vaults').properties as Record<string, unknown>;
    expect(vault).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: "[if(parameters('keyVaultPurgeProtection'), true(), null())]",
    });
  });

  it('deploys a Node major that package.json engines allow (.ci/run boots the product under it)', () => {
    const deployed = /runtime: \{ name: 'node', version: '(\d+)' \}/.exec(main)?.[1];
    expect(deployed, 'main.bicep deploys no node runtime version').toBeDefined();
    const runtime = (only('Microsoft.Web/sites').properties as { functionAppConfig: { runtime: unknown } })
      .functionAppConfig.runtime;
    expect(runtime).toEqual({ name: 'node', version: deployed });
    const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const minimumMajor = /^>=(\d+)/.exec(engines.node)?.[1];
    expect(Number(deployed)).toBeGreaterThanOrEqual(Number(minimumMajor));
  });

  it('is documented: docs/deploy.md names every parameter', () => {
    const deploy = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    const params = Object.keys(template.parameters);
    expect(params.length).toBeGreaterThan(5);
    for (const param of params)
      expect(deploy, `docs/deploy.md does not name ${param}`).toContain(`\`${param}\``);
  });

  it('is documented: docs/deploy.md explains every output azd stores in the environment', () => {
    const deploy = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    const outputs = Object.keys(template.outputs);
    expect(outputs).toContain('SERVICE_API_URI');
    for (const output of outputs)
      expect(deploy, `docs/deploy.md does not name ${output}`).toContain(`\`${output}\``);
  });
});
