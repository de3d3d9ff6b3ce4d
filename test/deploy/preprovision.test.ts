import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * azure.yaml's preprovision hook, run as azd runs it: a plain `node dev/deploy/preprovision.mjs` with the azd
 * environment's values as environment variables. A stand-in `azd` records what the hook asks it to store.
 */
const root = join(import.meta.dirname, '..', '..');
const hook = join(root, 'dev', 'deploy', 'preprovision.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'drh-preprovision-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const recorded = join(scratch, 'azd-calls.json');
const fakeAzd = join(scratch, 'azd');
writeFileSync(
  fakeAzd,
  `#!${process.execPath}\nrequire('node:fs').appendFileSync(${JSON.stringify(recorded)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`,
);
chmodSync(fakeAzd, 0o755);

const ready = {
  API_TENANT_ID: '11111111-2222-3333-4444-555555555555',
  API_AUDIENCE: 'api://direct-routing-hub',
  LICENSE_TENANT_COUNT: '20',
  LICENSE_USER_COUNT: '10000',
};

function runHook(values: Record<string, string>) {
  rmSync(recorded, { force: true });
  const result = spawnSync(process.execPath, [hook], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, AZD_BINARY: fakeAzd, ...values },
  });
  const calls = (() => {
    try {
      return readFileSync(recorded, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as string[]);
    } catch {
      return [];
    }
  })();
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

describe('the preprovision hook', () => {
  it('is what azure.yaml runs before provisioning, in both shells', () => {
    const azureYaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    expect(azureYaml.match(/^ {6}run: node dev\/deploy\/preprovision\.mjs$/gm)).toHaveLength(2);
  });

  it('makes a 32-byte SECRETS_ENCRYPTION_KEY when the environment has none, without printing it', () => {
    const run = runHook(ready);
    expect(run.status, run.stderr).toBe(0);
    expect(run.calls).toHaveLength(1);
    const [verb, action, name, value] = run.calls[0]!;
    expect([verb, action, name]).toEqual(['env', 'set', 'SECRETS_ENCRYPTION_KEY']);
    expect(Buffer.from(value!, 'base64')).toHaveLength(32);
    expect(run.stdout + run.stderr).not.toContain(value);
    expect(run.stdout).toContain('Keep a copy somewhere safe');
  });

  it('keeps a key the environment already has', () => {
    const run = runHook({ ...ready, SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') });
    expect(run.status, run.stderr).toBe(0);
    expect(run.calls).toEqual([]);
  });

  it('refuses an environment that would fail in Azure, naming every problem, and stores nothing', () => {
    const run = runHook({
      API_TENANT_ID: 'contoso.onmicrosoft.com',
      SECRETS_ENCRYPTION_KEY: Buffer.alloc(16, 1).toString('base64'),
      LICENSE_USER_COUNT: 'ten thousand',
      LICENSE_EXPIRES: '31/12/2030',
      CUSTOM_DOMAIN_NAME: 'hub.voice.example.com',
      PUBLIC_BASE_URL: 'https://portal.example.com',
      DNS_ZONE_RESOURCE_GROUP: 'rg-dns',
      API_CORS_ALLOWED_ORIGINS: 'https://portal.example.com, https://portal.example.com/app/',
    });
    expect(run.status).toBe(1);
    expect(run.calls).toEqual([]);
    expect(run.stderr).toContain('not ready to deploy (8)');
    for (const message of [
      'API_TENANT_ID must be the tenant id (a GUID)',
      "API_AUDIENCE must be the API app registration's Application ID URI",
      'SECRETS_ENCRYPTION_KEY must be 32 random bytes, base64-encoded',
      'LICENSE_USER_COUNT must be a whole number',
      'LICENSE_EXPIRES must be a date, YYYY-MM-DD',
      'Set CUSTOM_DOMAIN_NAME (bound to the app here) or PUBLIC_BASE_URL',
      'DNS_ZONE_RESOURCE_GROUP is set without DNS_ZONE_NAME',
      'API_CORS_ALLOWED_ORIGINS: "https://portal.example.com/app/" is not an origin',
    ]) {
      expect(run.stderr).toContain(message);
    }
  });

  it('says when azd could not store the new key', () => {
    const run = runHook({ ...ready, AZD_BINARY: join(scratch, 'no-such-azd') });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Could not store a new SECRETS_ENCRYPTION_KEY');
  });
});
