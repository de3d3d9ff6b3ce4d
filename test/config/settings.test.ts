import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError, settingsSchema } from '../../shared/config/settings.js';

const settingNames = Object.keys(settingsSchema.in.shape);
const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  API_TENANT_ID: '00000000-0000-0000-0000-000000000001',
  API_AUDIENCE: 'api://direct-routing-hub',
  LICENSE_TENANT_COUNT: '20',
  LICENSE_USER_COUNT: '10000',
  PUBLIC_BASE_URL: 'https://hub.example.com/',
  SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function errorOf(env: Record<string, string>): SettingsError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

describe('settings', () => {
  it('names every missing and every invalid setting in one start-up error', () => {
    const error = errorOf({
      GRAPH_BASE_URL: 'http://graph.example',
      LICENSE_USER_COUNT: 'lots',
      LOG_LEVEL: 'loud',
      PUBLIC_BASE_URL: 'http://hub.example.com',
      SECRETS_ENCRYPTION_KEY: 'c2hvcnQ=',
    });
    expect(error.message).toContain('PUBLIC_BASE_URL: must be an https:// URL (http:// only for localhost)');
    expect(error.message).toContain('SECRETS_ENCRYPTION_KEY: must be 32 random bytes, base64-encoded');
    expect(error.message).not.toContain('c2hvcnQ=');
    expect(error.problems.map((p) => p.setting).sort()).toEqual(
      [
        'API_AUDIENCE',
        'API_TENANT_ID',
        'AzureWebJobsStorage',
        'GRAPH_BASE_URL',
        'LICENSE_TENANT_COUNT',
        'LICENSE_USER_COUNT',
        'LOG_LEVEL',
        'PUBLIC_BASE_URL',
        'SECRETS_ENCRYPTION_KEY',
      ].sort(),
    );
    expect(error.message).toContain('GRAPH_BASE_URL: must be an https:// URL');
    expect(error.message).toContain('LICENSE_USER_COUNT: must be a whole number');
    expect(error.message).toContain('API_TENANT_ID: is required');
  });

  it('defaults to the real Microsoft endpoints and derives the token issuer and keys from the tenant', () => {
    const settings = loadSettings(minimal);
    expect(settings.endpoints).toEqual({
      authorityHost: 'https://login.microsoftonline.com',
      graph: 'https://graph.microsoft.com',
      teamsAdmin: 'https://api.interfaces.records.teams.microsoft.com',
      arm: 'https://management.azure.com',
      sbcTemplate: '{scheme}://{device}',
    });
    expect(settings.api.issuer).toBe(
      'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
    );
    expect(settings.api.jwksUri).toBe(
      'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/discovery/v2.0/keys',
    );
    expect(settings.licence).toEqual({ tenantCount: 20, userCount: 10000, expiresOn: null });
    expect(settings.publicBaseUrl).toBe('https://hub.example.com');
    expect(loadSettings({ ...minimal, PUBLIC_BASE_URL: 'http://127.0.0.1:7071' }).publicBaseUrl).toBe(
      'http://127.0.0.1:7071',
    );
  });

  it('treats empty values as absent, as App Settings left blank are', () => {
    expect(
      loadSettings({ ...minimal, API_TOKEN_ISSUER: '', TRUSTED_CA_CERT_FILE: '' }).trustedCaCertFile,
    ).toBeUndefined();
    expect(errorOf({ ...minimal, API_AUDIENCE: '' }).problems).toEqual([
      { setting: 'API_AUDIENCE', message: 'is required' },
    ]);
  });

  it('is documented setting by setting in local.settings.sample.json and the README', () => {
    const sample = JSON.parse(readFileSync('local.settings.sample.json', 'utf8')) as {
      Values: Record<string, string>;
    };
    const readme = readFileSync('README.md', 'utf8');
    for (const name of settingNames) {
      expect(Object.keys(sample.Values), `${name} in local.settings.sample.json`).toContain(name);
      expect(readme, `${name} in the README configuration table`).toMatch(
        new RegExp(`^\\| \`${name}\` +\\|`, 'm'),
      );
    }
  });
});
